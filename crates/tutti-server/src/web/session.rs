//! Signing in and out, the session cookie, CSRF tokens and password hashes.
//!
//! - Passwords are argon2id hashes (the `argon2` crate's defaults); a wrong
//!   password and an unknown email get the same answer after the same work.
//! - The session cookie holds 256 random bits; the store keeps only their
//!   SHA-256. It is `HttpOnly`, `SameSite=Lax`, and `Secure` when the cockpit
//!   is served over TLS (a `https` public URL, or `X-Forwarded-Proto: https`
//!   from a proxy in front). Sessions end after [`SESSION_HOURS`] or on
//!   signing out.
//! - Every session has its own CSRF token, carried by every form. The
//!   sign-in form, which comes before any session, is protected by a
//!   double-submit token in a short-lived cookie.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, html};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;

use tutti_domain::signin::SignInThrottle;
use tutti_domain::validate::Email;
use tutti_i18n::{Locale, Messages};
use tutti_store::Ctx;
use tutti_store::NewSession;
use tutti_store::prelude::*;

use super::{Form, browser_locale, current_session, head, see_other};
use crate::{ApiError, AppState, auth};

pub const SESSION_COOKIE: &str = "tutti_session";
const SIGN_IN_COOKIE: &str = "tutti_sign_in";
pub const SESSION_HOURS: i64 = 12;
/// The shortest password `tutti member set-password` accepts.
pub const PASSWORD_MIN: usize = 10;
const PASSWORD_MAX: usize = 1024;

/// The argon2 hash to store for a password.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    check_password(password)?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| ApiError::Internal(format!("cannot encode salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(format!("cannot hash password: {e}")))
}

/// A password for demo people: 16 letters and digits that cannot be
/// mistaken for each other, in groups of four.
pub fn random_password() -> Result<String, ApiError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    let letters: Vec<char> = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    Ok(letters
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}

/// Whether a password is one tutti accepts.
pub fn check_password(password: &str) -> Result<(), ApiError> {
    let length = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&length) {
        return Err(ApiError::Invalid(tutti_domain::Invalid::new(
            "password",
            format!("must have {PASSWORD_MIN} to {PASSWORD_MAX} characters"),
        )));
    }
    Ok(())
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

fn random_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// A cookie's value from the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

fn secure<S>(state: &AppState<S>, headers: &HeaderMap) -> bool {
    state.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .ok()
}

/// Percent-encodes a path for a query parameter.
pub fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Only local paths: a sign-in must never send someone to another site.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_owned(),
        _ => "/".into(),
    }
}

#[derive(Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
}

pub async fn sign_in_page<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Query(query): Query<SignInQuery>,
) -> Response {
    let t = Messages::of(browser_locale(&headers));
    sign_in_form(
        &state,
        &headers,
        &t,
        query.next.as_deref(),
        None,
        StatusCode::OK,
    )
}

fn sign_in_form<S>(
    state: &AppState<S>,
    headers: &HeaderMap,
    t: &Messages,
    next: Option<&str>,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    let token = match random_token() {
        Ok(token) => token,
        Err(e) => return (e.status(), e.detail()).into_response(),
    };
    let title = t.get("signin-title");
    let markup = html! {
        (DOCTYPE)
        html lang=(t.locale().code()) {
            (head(&title))
            body.bare {
                main #main.signin {
                    p.brand { "tutti" }
                    h1 { (title) }
                    p.lede { (t.get("signin-lede")) }
                    @if let Some(problem) = &problem { p.problem role="alert" { (problem) } }
                    form method="post" action="/sign-in" {
                        input type="hidden" name="csrf" value=(token);
                        input type="hidden" name="next" value=(local_path(next));
                        label for="email" { (t.get("signin-email")) }
                        input #email type="email" name="email" autocomplete="username" required autofocus;
                        label for="password" { (t.get("signin-password")) }
                        input #password type="password" name="password" autocomplete="current-password" required;
                        button type="submit" { (t.get("signin-submit")) }
                    }
                }
            }
        }
    };
    let mut response = (status, markup).into_response();
    if let Some(value) = set_cookie(SIGN_IN_COOKIE, &token, 3600, secure(state, headers)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
pub struct SignIn {
    csrf: Option<String>,
    email: String,
    password: String,
    next: Option<String>,
}

pub async fn sign_in<S: Store>(
    State(state): State<AppState<S>>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let t = Messages::of(browser_locale(&headers));
    let form: SignIn = match serde_urlencoded::from_bytes(&body) {
        Ok(form) => form,
        Err(_) => {
            let problem = t.get("signin-incomplete");
            return sign_in_form(
                &state,
                &headers,
                &t,
                None,
                Some(problem),
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let next = local_path(form.next.as_deref());
    let expected = cookie(&headers, SIGN_IN_COOKIE);
    let fresh = match (form.csrf.as_deref(), expected.as_deref()) {
        (Some(sent), Some(kept)) => same_secret(sent, kept),
        _ => false,
    };
    if !fresh {
        let problem = t.get("signin-stale");
        return sign_in_form(
            &state,
            &headers,
            &t,
            Some(&next),
            Some(problem),
            StatusCode::FORBIDDEN,
        );
    }
    // A throttled try is refused before its password is checked, so a
    // guesser learns nothing from it.
    let now = state.clock.now();
    if let Some(wait) = state.sign_in_failures.wait(&form.email, address, now) {
        let seconds = wait.num_seconds().max(1);
        if state.sign_in_failures.first_hold(&form.email) {
            record_refusal(&state, &form.email, true).await;
        }
        let problem = t.with(
            "signin-throttled",
            &tutti_i18n::args([("seconds", seconds as f64)]),
        );
        let mut response = sign_in_form(
            &state,
            &headers,
            &t,
            Some(&next),
            Some(problem),
            StatusCode::TOO_MANY_REQUESTS,
        );
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    match open_session(&state, &form.email, &form.password).await {
        Ok(Some(token)) => {
            state.sign_in_failures.succeeded(&form.email);
            let mut response = see_other(&next);
            let cookie = set_cookie(
                SESSION_COOKIE,
                &token,
                SESSION_HOURS * 3600,
                secure(&state, &headers),
            );
            let headers = response.headers_mut();
            if let Some(value) = cookie {
                headers.append(header::SET_COOKIE, value);
            }
            if let Some(value) = set_cookie(SIGN_IN_COOKIE, "", 0, false) {
                headers.append(header::SET_COOKIE, value);
            }
            // htmx must load the whole cockpit, not swap it into the form.
            headers.insert(
                "HX-Redirect",
                HeaderValue::from_str(&next).unwrap_or(HeaderValue::from_static("/")),
            );
            response
        }
        Ok(None) => {
            state.sign_in_failures.failed(&form.email, address, now);
            record_refusal(&state, &form.email, false).await;
            let problem = t.get("signin-failed");
            sign_in_form(
                &state,
                &headers,
                &t,
                Some(&next),
                Some(problem),
                StatusCode::UNAUTHORIZED,
            )
        }
        Err(e) => (
            e.status(),
            super::bare_page(&t, &t.get("error-internal"), &e.detail()),
        )
            .into_response(),
    }
}

/// Checks the password and starts a session; the new cookie token, or `None`
/// when the email and password do not match a person.
/// Writes a refused sign-in into the audit chain of every org where the
/// email belongs to someone; an unknown email is only logged, since it
/// names no org.
async fn record_refusal<S: Store>(state: &AppState<S>, email: &str, throttled: bool) {
    let credentials = match Email::parse("email", email) {
        Ok(email) => state.store.credentials(&email).await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    if credentials.is_empty() {
        tracing::warn!(throttled, "a sign-in with an unknown email was refused");
    }
    for c in credentials {
        let ctx = Ctx::new(c.org_id, None, state.clock.now());
        if let Err(e) = state
            .store
            .sign_in_refused(&ctx, c.member_id, throttled)
            .await
        {
            tracing::warn!("cannot audit a refused sign-in: {e}");
        }
    }
}

async fn open_session<S: Store>(
    state: &AppState<S>,
    email: &str,
    password: &str,
) -> Result<Option<String>, ApiError> {
    // The same argon2 work whether or not the email is known, so that the
    // answer's timing does not tell which emails exist.
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let credentials = match Email::parse("email", email) {
        Ok(email) => state.store.credentials(&email).await?,
        Err(_) => Vec::new(),
    };
    if credentials.is_empty() {
        let decoy = DECOY.get_or_init(|| hash_password("decoy password").unwrap_or_default());
        let _ = verify_password(password, decoy);
        return Ok(None);
    }
    let Some(found) = credentials
        .into_iter()
        .find(|c| verify_password(password, &c.password_hash))
    else {
        return Ok(None);
    };
    let token = random_token()?;
    let now = state.clock.now();
    let ctx = Ctx::new(found.org_id, Some(found.member_id), now);
    state
        .store
        .create_session(
            &ctx,
            NewSession {
                token_hash: auth::hash_token(&token),
                csrf_token: random_token()?,
                expires_at: now + chrono::Duration::hours(SESSION_HOURS),
            },
        )
        .await?;
    Ok(Some(token))
}

/// Failed sign-ins of the last minutes, per account (its email) and per
/// address, kept by this process; the rule that reads them is
/// `tutti_domain::signin::SignInThrottle`. Several processes each keep
/// their own, so each throttles what reaches it.
#[derive(Debug, Default)]
pub struct SignInFailures(std::sync::Mutex<Failures>);

#[derive(Debug, Default)]
struct Failures {
    times: HashMap<String, Vec<chrono::DateTime<chrono::Utc>>>,
    /// Accounts whose throttling since their last failure is already in
    /// the audit chain: a held try costs no password check, so auditing
    /// every one would let a flood of them fill the chain.
    throttle_audited: std::collections::HashSet<String>,
}

impl SignInFailures {
    fn keys(email: &str, address: Option<IpAddr>) -> [(Option<String>, SignInThrottle); 2] {
        [
            (
                Some(format!("account:{}", email.trim().to_lowercase())),
                SignInThrottle::PER_ACCOUNT,
            ),
            (
                address.map(|a| format!("address:{a}")),
                SignInThrottle::PER_ADDRESS,
            ),
        ]
    }

    /// How long this try must wait, the longer of the account's and the
    /// address's waits.
    fn wait(
        &self,
        email: &str,
        address: Option<IpAddr>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::Duration> {
        let failures = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Self::keys(email, address)
            .into_iter()
            .filter_map(|(key, rule)| rule.wait(failures.times.get(key.as_ref()?)?, now))
            .max()
    }

    /// Whether a held try on this account is the first since its last
    /// failure, and so goes into the audit chain.
    fn first_hold(&self, email: &str) -> bool {
        let mut failures = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match Self::keys(email, None) {
            [(Some(key), _), _] => failures.throttle_audited.insert(key),
            _ => false,
        }
    }

    fn failed(&self, email: &str, address: Option<IpAddr>, now: chrono::DateTime<chrono::Utc>) {
        let mut failures = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Forget what no rule remembers any more, so the map stays small.
        failures.times.retain(|_, times| {
            times.retain(|t| now - *t < SignInThrottle::PER_ACCOUNT.window);
            !times.is_empty()
        });
        for (key, _) in Self::keys(email, address) {
            if let Some(key) = key {
                failures.throttle_audited.remove(&key);
                failures.times.entry(key).or_default().push(now);
            }
        }
    }

    /// The right password clears the account's failures.
    fn succeeded(&self, email: &str) {
        let mut failures = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let [(Some(key), _), _] = Self::keys(email, None) {
            failures.throttle_audited.remove(&key);
            failures.times.remove(&key);
        }
    }
}

/// The address a sign-in comes from: the peer, or behind a proxy on this
/// machine the last address it adds to `X-Forwarded-For`.
pub struct ClientAddress(Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = || {
            parts
                .headers
                .get("x-forwarded-for")?
                .to_str()
                .ok()?
                .rsplit(',')
                .next()?
                .trim()
                .parse::<IpAddr>()
                .ok()
        };
        Ok(Self(match peer {
            Some(ip) if ip.is_loopback() => forwarded().or(Some(ip)),
            other => other,
        }))
    }
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn sign_out<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    form: Form<Empty>,
) -> Response {
    if let Ok(Some((hash, _))) = current_session(&headers, &state).await {
        let web = &form.web;
        let ctx = crate::api::ctx(&state, &web.actor);
        if let Err(e) = state.store.end_session(&ctx, &hash).await {
            return web.error(e);
        }
    }
    let mut response = see_other("/sign-in");
    if let Some(value) = set_cookie(SESSION_COOKIE, "", 0, secure(&state, &headers)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
        .headers_mut()
        .insert("HX-Redirect", HeaderValue::from_static("/sign-in"));
    response
}

#[derive(Deserialize)]
pub struct SetLanguage {
    locale: String,
    back: Option<String>,
}

/// Remembers the person's language and shows the page again in it.
pub async fn set_language<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<SetLanguage>,
) -> Response {
    let Form { web, value } = form;
    let Some(locale) = Locale::parse(&value.locale) else {
        return web.error(ApiError::Invalid(tutti_domain::Invalid::new(
            "locale",
            "use de or en",
        )));
    };
    let ctx = crate::api::ctx(&state, &web.actor);
    if let Err(e) = state
        .store
        .set_locale(&ctx, web.actor.member_id, Some(locale.code()))
        .await
    {
        return web.error(e);
    }
    see_other(&local_path(value.back.as_deref()))
}

#[derive(Debug, Deserialize)]
pub struct SetTimeZone {
    /// An IANA name; empty follows the org's.
    #[serde(default)]
    time_zone: String,
}

/// Remembers the zone the person reads times in (empty: the org's) and
/// shows the people page in it; a name that is no zone says so.
pub async fn set_time_zone<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<SetTimeZone>,
) -> Response {
    let Form { web, value } = form;
    let ctx = crate::api::ctx(&state, &web.actor);
    let wanted = Some(value.time_zone.trim()).filter(|name| !name.is_empty());
    match tutti_engine::directory::set_member_time_zone(
        &state.store,
        &web.actor,
        &ctx,
        web.actor.member_id,
        wanted,
    )
    .await
    {
        Ok(_) => see_other("/people#zone-h"),
        Err(e) => web.error(e),
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("Werkstatt-2026!").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("Werkstatt-2026!", &hash));
        assert!(!verify_password("Werkstatt-2027!", &hash));
        assert!(!verify_password("anything", "not a hash"));
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn sign_in_only_leads_to_local_pages() {
        assert_eq!(
            local_path(Some("/decisions?awaiting=me")),
            "/decisions?awaiting=me"
        );
        assert_eq!(local_path(Some("https://evil.example")), "/");
        assert_eq!(local_path(Some("//evil.example")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; tutti_session=abc; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
    }

    #[test]
    fn secrets_compare_by_content() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", ""));
    }
}
