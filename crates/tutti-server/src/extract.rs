//! Request extractors that refuse bad input with a problem document naming
//! the field: JSON bodies, query strings, path ids, the bearer token and the
//! idempotency key.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tutti_domain::access::Actor;
use tutti_store::prelude::*;
use uuid::Uuid;

use crate::{ApiError, AppState, auth};

/// Turns a serde error at a path into a problem: syntax errors are malformed
/// (400), a wrong, missing or unknown field is invalid (422) and named.
fn problem_at<E: std::fmt::Display>(path: String, err: E, syntax: bool) -> ApiError {
    let message = err.to_string();
    // serde_path_to_error points at an unknown field itself, but at the parent
    // of a missing one; serde names the field only in its message.
    let path = Some(path).filter(|p| !p.is_empty() && p != "." && p != "?");
    let named = ["unknown field `", "missing field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next())
        .map(|name| match &path {
            Some(p) if p == name || p.ends_with(&format!(".{name}")) => p.clone(),
            Some(p) => format!("{p}.{name}"),
            None => name.to_owned(),
        });
    let field = named.or(path);
    let detail = match message.split(" at line ").next() {
        Some(short) => short.to_owned(),
        None => message.clone(),
    };
    if syntax {
        ApiError::Malformed { field, detail }
    } else {
        ApiError::Invalid(tutti_domain::Invalid::new(
            field.unwrap_or_else(|| "body".into()),
            detail,
        ))
    }
}

/// A JSON body, with unknown fields refused by the target type, and the
/// SHA-256 of the raw bytes for idempotency checks.
pub struct ApiJson<T> {
    pub value: T,
    pub digest: String,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| {
                let v = v.trim().to_ascii_lowercase();
                v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::Malformed {
                    field: None,
                    detail: format!("cannot read the body: {e}"),
                }
            }
        })?;
        // Every body of the API is an object. serde would fill a struct from
        // an array by position, so an array is refused before its fields are
        // read (any other non-object fails to deserialize on its own).
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            return Err(ApiError::Invalid(tutti_domain::Invalid::new(
                "body",
                "must be a JSON object, not an array",
            )));
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let json = serde::de::DeserializeSeed::deserialize(JsonValue, &mut de).map_err(|e| {
            use serde_json::error::Category;
            let syntax = matches!(
                e.classify(),
                Category::Syntax | Category::Eof | Category::Io
            );
            problem_at(String::new(), e, syntax)
        })?;
        de.end().map_err(|e| ApiError::Malformed {
            field: None,
            detail: format!("unexpected data after the JSON value ({e})"),
        })?;
        let value = serde_path_to_error::deserialize(json)
            .map_err(|e| problem_at(e.path().to_string(), e.inner(), false))?;
        Ok(Self {
            value,
            digest: hex::encode(Sha256::digest(&bytes)),
        })
    }
}

/// Reads a JSON value as the API understands JSON, before the body's type
/// reads it: a number is a number, so `8.0` fills an integer field as `8`
/// does (JSON Schema, and so the OpenAPI document, call both integers);
/// and a name twice in one object is refused, as the typed read would, rather
/// than the last one silently winning.
struct JsonValue;

impl<'de> serde::de::DeserializeSeed<'de> for JsonValue {
    type Value = serde_json::Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonValue {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        // Within ±2^63 an f64 without a fraction is exactly an i64.
        const BOUND: f64 = 9_223_372_036_854_775_808.0;
        if v.fract() == 0.0 && (-BOUND..BOUND).contains(&v) {
            #[expect(clippy::cast_possible_truncation, reason = "whole and in range")]
            return Ok((v as i64).into());
        }
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(JsonValue)? {
            items.push(item);
        }
        Ok(items.into())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if object.contains_key(&name) {
                return Err(serde::de::Error::custom(format_args!(
                    "duplicate field `{name}`"
                )));
            }
            let value = map.next_value_seed(JsonValue)?;
            object.insert(name, value);
        }
        Ok(object.into())
    }
}

/// Query parameters, refused with the parameter named.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| problem_at(e.path().to_string(), e.inner(), false))
    }
}

/// A UUID from the last path segment; one that is not a UUID names no
/// resource, so it is a 404 naming `id`.
pub struct IdPath(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::Malformed {
                    field: Some("id".into()),
                    detail: e.body_text(),
                })?;
        raw.parse().map(IdPath).map_err(|_| ApiError::NoSuchId(raw))
    }
}

/// The member the bearer token belongs to.
pub struct Auth(pub Actor);

impl<S: Store> FromRequestParts<AppState<S>> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState<S>) -> Result<Self, ApiError> {
        let token = auth::bearer_token(&parts.headers).ok_or(ApiError::Unauthorized)?;
        let actor = state
            .store
            .actor_by_token(&auth::hash_token(token))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Auth(actor))
    }
}

/// The `Idempotency-Key` header, if sent: 1 to 255 visible ASCII characters.
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(Self(None));
        };
        let key = value
            .to_str()
            .ok()
            .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| ApiError::Malformed {
                field: Some("Idempotency-Key".into()),
                detail: "must be 1 to 255 visible ASCII characters".into(),
            })?;
        Ok(Self(Some(key.to_owned())))
    }
}
