//! The `tutti` binary from the outside: `init` prints a working token, `serve`
//! answers the client commands, `audit verify` finds rows altered or deleted
//! behind its back with the `sqlite3` tool, and bad input ends in one clear
//! line and a non-zero exit.

#![expect(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

// The stop-and-restart helpers are for the AI-labour tests.
#[allow(dead_code)]
use crate::common;
use common::{init, serve, sqlite_url, tutti};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A failed command: a non-zero exit and one line on stderr that says `why`.
fn assert_refused_in_one_line(output: &Output, why: &str) {
    let message = stderr(output);
    assert!(!output.status.success(), "{}", stdout(output));
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(message.contains(why), "{message}");
}

#[test]
fn init_prints_a_token_that_the_client_commands_use() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let token = init(&url);
    assert!(token.starts_with("tutti_"), "{token}");
    let server = serve(&url, &[]);
    let env = [
        ("TUTTI_SERVER", server.url.as_str()),
        ("TUTTI_TOKEN", token.as_str()),
    ];
    let json = |args: &[&str]| {
        let mut all = args.to_vec();
        all.push("--json");
        let output = tutti(&all, &env);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        serde_json::from_str::<Value>(&stdout(&output)).unwrap()
    };

    let team = json(&["team", "add", "--name", "Kundenservice"]);
    let team_id = team["id"].as_str().unwrap();
    let objective = json(&[
        "objective",
        "add",
        "--title",
        "Kundenbindung stärken",
        "--why",
        "Damit sie wiederkommen.",
        "--start",
        "2026-10-01",
        "--end",
        "2026-12-31",
        "--team",
        team_id,
    ]);
    let objective_id = objective["id"].as_str().unwrap();
    let kr = json(&[
        "kr",
        "add",
        "--objective",
        objective_id,
        "--title",
        "Reaktionszeit",
        "--baseline",
        "24",
        "--target",
        "8",
        "--unit",
        "h",
    ]);
    let kr_id = kr["id"].as_str().unwrap();
    json(&[
        "checkin",
        "add",
        "--kr",
        kr_id,
        "--value",
        "16",
        "--confidence",
        "7",
        "--note",
        "halbe Strecke",
    ]);
    let work = json(&[
        "work",
        "add",
        "--title",
        "Notdienstplan aufstellen",
        "--kr",
        kr_id,
        "--team",
        team_id,
    ]);
    let work_id = work["id"].as_str().unwrap();
    json(&[
        "work",
        "add",
        "--title",
        "Werkstatt aufräumen",
        "--kind",
        "unplanned",
    ]);
    let moved = json(&["work", "move", work_id, "ready"]);
    assert_eq!(moved["state"], "ready");

    let detail = json(&["objective", "show", objective_id]);
    assert!(
        (detail["progress"].as_f64().unwrap() - 0.5).abs() < 1e-9,
        "{detail}"
    );
    let aligned = json(&["work", "list", "--kr", kr_id]);
    assert_eq!(aligned["items"].as_array().unwrap().len(), 1);
    let unaligned = json(&["work", "list", "--unaligned"]);
    assert_eq!(unaligned["items"][0]["title"], "Werkstatt aufräumen");

    // The table output is for people: it shows the titles and the progress.
    let table = tutti(&["objective", "tree"], &env);
    assert!(
        stdout(&table).contains("50 %  Kundenbindung stärken"),
        "{}",
        stdout(&table)
    );
    let listed = tutti(&["work", "list"], &env);
    assert!(stdout(&listed).contains("Notdienstplan aufstellen"));

    // The target moves with a reason; the old one stays in the record.
    let moved = json(&[
        "kr",
        "edit",
        kr_id,
        "--target",
        "4",
        "--reason",
        "Notdienst verspricht 4 h",
    ]);
    assert_eq!(moved["target"], 4.0);
    let moves = json(&["kr", "targets", kr_id]);
    assert_eq!(moves["items"][0]["from"], 8.0, "{moves}");
    assert_eq!(moves["items"][0]["reason"], "Notdienst verspricht 4 h");
    let edited = json(&[
        "objective",
        "edit",
        objective_id,
        "--end",
        "2027-03-31",
        "--no-team",
    ]);
    assert_eq!(edited["period_end"], "2027-03-31", "{edited}");
    assert_eq!(edited["team_id"], Value::Null, "{edited}");
    assert_eq!(edited["title"], "Kundenbindung stärken");

    // The service catalogue and a promise: the maker may not sign it off,
    // said in one line; breaking it needs a why, and then it stays broken.
    let product = json(&[
        "service",
        "add",
        "--name",
        "Notdienst 24/7",
        "--kind",
        "reactive",
        "--level",
        "Reaktionszeit 4 h",
    ]);
    assert_eq!(product["levels"][0], "Reaktionszeit 4 h");
    let promise = json(&[
        "promise",
        "add",
        "--title",
        "Heizung läuft bis Freitag",
        "--customer",
        "Familie Hoffmann",
        "--due",
        "2099-01-01T12:00:00Z",
        "--team",
        team_id,
        "--keeper",
        team_id,
        "--service",
        product["id"].as_str().unwrap(),
    ]);
    let promise_id = promise["id"].as_str().unwrap();
    let own = tutti(&["promise", "sign-off", promise_id], &env);
    assert_refused_in_one_line(&own, "403");
    let broken = json(&["promise", "break", promise_id, "--note", "Monteur krank"]);
    assert_eq!(broken["state"], "broken");
    let listed = json(&["promise", "list", "--state", "broken"]);
    assert_eq!(listed["items"][0]["health"], "still");
    let load = json(&["service", "load", "--weeks", "2", "--team", team_id]);
    assert_eq!(load.as_array().map(Vec::len), Some(2), "{load}");

    // The org's time zone: an IANA name, or one clear line naming the field.
    let zoned = json(&["org", "zone", "Europe/Berlin"]);
    assert_eq!(zoned["time_zone"], "Europe/Berlin");
    let no_zone = tutti(&["org", "zone", "MEZ"], &env);
    assert_refused_in_one_line(&no_zone, "422 (time_zone)");

    // A routine: every Monday and Thursday at 07:30 in Berlin, read back on
    // the reader's clock (TZ); bad days and rules are one clear line.
    let routine = json(&[
        "routine",
        "add",
        "--name",
        "Heizraum begehen",
        "--cadence",
        "weekly",
        "--days",
        "mo,do",
        "--at",
        "07:30",
        "--starts",
        "2026-01-05",
        "--team",
        team_id,
    ]);
    assert_eq!(routine["schedule"]["days"], json!([1, 4]), "{routine}");
    let routine_id = routine["id"].as_str().unwrap();
    let bad_day = tutti(
        &[
            "routine",
            "add",
            "--name",
            "x",
            "--cadence",
            "weekly",
            "--days",
            "xx",
            "--at",
            "07:00",
        ],
        &env,
    );
    assert_refused_in_one_line(&bad_day, "--days: `xx` is no weekday");
    let hourly = tutti(
        &[
            "routine",
            "add",
            "--name",
            "x",
            "--rule",
            "FREQ=HOURLY",
            "--at",
            "07:00",
        ],
        &env,
    );
    assert_refused_in_one_line(&hourly, "422 (rule)");
    let mut berlin = env.to_vec();
    berlin.push(("TZ", "Europe/Berlin"));
    let shown = tutti(&["routine", "show", routine_id], &berlin);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let text = stdout(&shown);
    assert!(
        text.contains("read in Europe/Berlin")
            && (text.contains("07:30 (+01:00)") || text.contains("07:30 (+02:00)")),
        "{text}"
    );
    let paused = json(&["routine", "pause", routine_id]);
    assert_eq!(
        (&paused["paused"], &paused["next_due"]),
        (&json!(true), &Value::Null)
    );
    let resumed = json(&["routine", "resume", routine_id]);
    assert_eq!(resumed["paused"], false);
    // One's own zone for the cockpit; none follows the org's.
    let own = json(&["member", "zone", "Europe/Lisbon"]);
    assert_eq!(own["time_zone"], "Europe/Lisbon");
    let no_own = tutti(&["member", "zone", "WEZ"], &env);
    assert_refused_in_one_line(&no_own, "422 (time_zone)");
    assert_eq!(json(&["member", "zone"])["time_zone"], Value::Null);

    // A refused request is one clear line and a non-zero exit.
    let illegal = tutti(&["work", "move", work_id, "done"], &env);
    assert_refused_in_one_line(&illegal, "409: cannot move from ready to done");

    // A token for another member, made with the CLI, works too.
    let viewer = json(&[
        "member",
        "add",
        "--name",
        "Miriam",
        "--email",
        "miriam@lindner.de",
        "--role",
        "viewer",
    ]);
    assert_eq!(viewer["role"], "viewer");
    let minted = tutti(
        &[
            "token",
            "create",
            "--member",
            "miriam@lindner.de",
            "--database-url",
            &url,
        ],
        &[],
    );
    assert!(minted.status.success(), "{}", stderr(&minted));
    let viewer_token = stdout(&minted).trim().to_owned();
    let as_viewer = tutti(
        &["work", "add", "--title", "Nein"],
        &[
            ("TUTTI_SERVER", &server.url),
            ("TUTTI_TOKEN", &viewer_token),
        ],
    );
    assert!(stderr(&as_viewer).contains("403"), "{}", stderr(&as_viewer));

    let verified = tutti(&["audit", "verify", "--database-url", &url], &[]);
    assert!(verified.status.success(), "{}", stdout(&verified));
}

fn sqlite3(db: &Path, sql: &str) {
    let output = Command::new("sqlite3").arg(db).arg(sql).output().unwrap();
    assert!(output.status.success(), "sqlite3: {}", stderr(&output));
}

/// Each way of tampering with a stored event, and the event it must name.
#[test]
fn audit_verify_names_the_event_altered_or_deleted_with_sqlite3() {
    let tampering = [
        (
            "UPDATE events SET payload = replace(payload, 'Lindner', 'Lindner & Co') WHERE seq = 1",
            "event 1",
        ),
        (
            "UPDATE events SET action = 'member.deleted' WHERE seq = 2",
            "event 2",
        ),
        (
            "UPDATE events SET at = '2020-01-01 00:00:00+00:00' WHERE seq = 2",
            "event 2",
        ),
        (
            "UPDATE events SET hash = 'ab' || substr(hash, 3) WHERE seq = 1",
            "event 1",
        ),
        ("DELETE FROM events WHERE seq = 2", "event 2"),
        ("DELETE FROM events WHERE seq = 3", "event 3"),
        ("DELETE FROM events WHERE seq = 1", "event 1"),
    ];
    for (sql, named) in tampering {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(dir.path());
        init(&url);
        let clean = tutti(&["audit", "verify", "--database-url", &url], &[]);
        assert!(clean.status.success(), "{}", stdout(&clean));
        assert!(
            stdout(&clean).contains("3 events verified"),
            "{}",
            stdout(&clean)
        );
        sqlite3(&dir.path().join("tutti.db"), sql);
        let broken = tutti(&["audit", "verify", "--database-url", &url], &[]);
        assert!(!broken.status.success(), "{sql}: verify passed");
        assert!(
            stdout(&broken).contains(named),
            "{sql}: {}",
            stdout(&broken)
        );
    }
}

#[test]
fn bad_command_line_input_is_one_clear_line_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "init",
                "--org",
                "X",
                "--owner",
                "not-an-email",
                "--database-url",
                &url,
            ],
            "--owner",
        ),
        (
            vec![
                "init",
                "--org",
                "X",
                "--owner",
                "a@b.de",
                "--currency",
                "euro",
                "--database-url",
                &url,
            ],
            "currency",
        ),
        (
            vec!["migrate", "--database-url", "mysql://localhost/x"],
            "--database-url",
        ),
        (
            vec![
                "token",
                "create",
                "--member",
                "nobody@b.de",
                "--database-url",
                &url,
            ],
            "no org",
        ),
        (
            vec!["work", "list", "--server", "http://127.0.0.1:9"],
            "no token",
        ),
    ];
    for (args, expected) in cases {
        let output = tutti(&args, &[]);
        assert!(!output.status.success(), "{args:?} succeeded");
        let err = stderr(&output);
        assert!(
            err.trim().lines().count() == 1 && err.contains(expected),
            "{args:?}: {err}"
        );
    }
}

#[tokio::test]
async fn init_and_audit_verify_on_postgres() {
    let Some(url) = tutti_store::testing::fresh_postgres_url().await.unwrap() else {
        return;
    };
    tokio::task::spawn_blocking(move || {
        let token = init(&url);
        assert!(token.starts_with("tutti_"));
        let server = serve(&url, &[]);
        let env = [
            ("TUTTI_SERVER", server.url.as_str()),
            ("TUTTI_TOKEN", token.as_str()),
        ];
        let added = tutti(
            &["work", "add", "--title", "Auf PostgreSQL", "--json"],
            &env,
        );
        assert!(added.status.success(), "{}", stderr(&added));
        let verified = tutti(&["audit", "verify", "--database-url", &url], &[]);
        assert!(
            verified.status.success() && stdout(&verified).contains("4 events verified"),
            "{}",
            stdout(&verified)
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn set_password_opens_the_cockpit_and_alerts_and_webhooks_work_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let token = init(&url);

    // A short password is refused in one line, with nothing written.
    let short = tutti(
        &[
            "member",
            "set-password",
            "--email",
            "katrin@lindner.de",
            "--database-url",
            &url,
        ],
        &[("TUTTI_PASSWORD", "kurz")],
    );
    assert!(!short.status.success());
    let message = stderr(&short);
    assert!(
        message.contains("10 to 1024 characters") && message.trim().lines().count() == 1,
        "{message}"
    );
    let unknown = tutti(
        &[
            "member",
            "set-password",
            "--email",
            "niemand@lindner.de",
            "--database-url",
            &url,
        ],
        &[("TUTTI_PASSWORD", "Werkstatt-Lindner-2026")],
    );
    assert!(
        !unknown.status.success()
            && stderr(&unknown).contains("no member with email niemand@lindner.de")
    );
    let set = tutti(
        &[
            "member",
            "set-password",
            "--email",
            "katrin@lindner.de",
            "--database-url",
            &url,
        ],
        &[("TUTTI_PASSWORD", "Werkstatt-Lindner-2026")],
    );
    assert!(set.status.success(), "{}", stderr(&set));

    let server = serve(&url, &[("TUTTI_NO_ENGINE", "true")]);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(format!("{}/sign-in", server.url))
        .send()
        .await
        .unwrap();
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let signed_in = http
        .post(format!("{}/sign-in", server.url))
        .header("cookie", cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "katrin@lindner.de"),
            ("password", "Werkstatt-Lindner-2026"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    assert!(
        signed_in.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("tutti_session=")
    );

    let env = [
        ("TUTTI_SERVER", server.url.as_str()),
        ("TUTTI_TOKEN", token.as_str()),
    ];
    let refreshed = tutti(&["alert", "refresh"], &env);
    assert!(refreshed.status.success(), "{}", stderr(&refreshed));
    assert!(
        stdout(&refreshed).contains("raised"),
        "{}",
        stdout(&refreshed)
    );
    let add_webhook = |url: &str, more: &[&str]| {
        let mut args = vec![
            "webhook", "add", "--name", "#service", "--format", "slack", "--url", url,
        ];
        args.extend_from_slice(more);
        tutti(&args, &env)
    };
    let bad = add_webhook("ftp://x", &[]);
    assert!(
        !bad.status.success() && stderr(&bad).contains("url"),
        "{}",
        stderr(&bad)
    );
    let secret_url = "https://hooks.example/T000/secret";
    let no_such_team = add_webhook(
        secret_url,
        &["--team", "0191d5a0-0000-7000-8000-000000000000"],
    );
    assert!(
        !no_such_team.status.success() && stderr(&no_such_team).contains("team_id"),
        "{}",
        stderr(&no_such_team)
    );
    let added = add_webhook(secret_url, &["--json"]);
    assert!(added.status.success(), "{}", stderr(&added));
    let hook: Value = serde_json::from_str(&stdout(&added)).unwrap();
    assert!(!stdout(&added).contains("secret"));
    let listed = tutti(&["webhook", "list"], &env);
    assert!(stdout(&listed).contains("#service") && !stdout(&listed).contains("secret"));
    let id = hook["id"].as_str().unwrap();
    assert!(tutti(&["webhook", "deliveries", id], &env).status.success());
    assert!(tutti(&["webhook", "delete", id], &env).status.success());
    assert!(
        !tutti(&["webhook", "delete", id], &env).status.success(),
        "deleting twice names the missing webhook"
    );
    let alerts = tutti(&["alert", "list", "--lang", "de"], &env);
    assert!(alerts.status.success(), "{}", stderr(&alerts));
    assert!(stdout(&alerts).contains("team"), "{}", stdout(&alerts));
    // The server takes `--mine` (it refuses parameters it does not know).
    let mine = tutti(&["alert", "list", "--mine", "--json"], &env);
    assert!(mine.status.success(), "{}", stderr(&mine));
    let listed: serde_json::Value = serde_json::from_str(&stdout(&mine)).unwrap();
    assert!(listed.is_array(), "{listed}");
}

/// The decision-space commands end to end through the binary: a space from a
/// starter template, a broken policy refused with its line, a simulation, an
/// AI worker deciding a small discount and preparing a large one, votes that
/// are refused and counted, the register as CSV and summary, and a policy
/// that denies everything sending the next decision to people.
#[test]
fn spaces_and_decisions_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let owner = init(&url);
    let server = serve(&url, &[("TUTTI_NO_ENGINE", "true")]);
    let run_as = |token: &str, args: &[&str]| {
        tutti(
            args,
            &[
                ("TUTTI_SERVER", server.url.as_str()),
                ("TUTTI_TOKEN", token),
            ],
        )
    };
    let json_as = |token: &str, args: &[&str]| {
        let mut all = args.to_vec();
        all.push("--json");
        let output = run_as(token, &all);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        serde_json::from_str::<Value>(&stdout(&output)).unwrap()
    };
    let token_for = |email: &str| {
        let minted = tutti(
            &["token", "create", "--member", email, "--database-url", &url],
            &[],
        );
        assert!(minted.status.success(), "{}", stderr(&minted));
        stdout(&minted).trim().to_owned()
    };

    let member = |name: &str, role: &str, kind: &str, team: Option<&str>| {
        let email = format!("{}@lindner.de", name.to_lowercase());
        let mut args = vec![
            "member", "add", "--name", name, "--email", &email, "--role", role, "--kind", kind,
        ];
        args.extend(team.map(|team| ["--team", team]).into_iter().flatten());
        let member = json_as(&owner, &args);
        (member["id"].as_str().unwrap().to_owned(), token_for(&email))
    };
    let (aylin_id, aylin) = member("Aylin", "lead", "human", None);
    let team = json_as(
        &owner,
        &["team", "add", "--name", "Vertrieb", "--lead", &aylin_id],
    );
    let team_id = team["id"].as_str().unwrap().to_owned();
    let (_, bernd) = member("Bernd", "lead", "human", Some(&team_id));
    let (_, vera) = member("Vera", "viewer", "human", Some(&team_id));
    let (emil_id, emil) = member("Emil", "member", "ai", Some(&team_id));

    // The starter policies are listed and can be read whole.
    let templates = run_as(&aylin, &["space", "templates"]);
    assert!(
        stdout(&templates).contains("discounts"),
        "{}",
        stdout(&templates)
    );
    let source = run_as(&aylin, &["space", "templates", "discounts"]);
    assert!(stdout(&source).contains("@id(\"ai-decides-small-reversible\")"));
    let unknown = run_as(&aylin, &["space", "templates", "rabatte"]);
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("no template named `rabatte`"));

    // A broken policy is refused in one line that names where it breaks.
    let broken = dir.path().join("broken.cedar");
    std::fs::write(
        &broken,
        "permit (principal, action, resource)\nwhen { resource.amount < };",
    )
    .unwrap();
    let refused = run_as(
        &aylin,
        &[
            "space",
            "add",
            "--name",
            "Rabatte",
            "--team",
            &team_id,
            "--policy-file",
            broken.to_str().unwrap(),
        ],
    );
    assert_refused_in_one_line(&refused, "line 2, column ");
    let by_ai = run_as(
        &emil,
        &[
            "space",
            "add",
            "--name",
            "Rabatte",
            "--team",
            &team_id,
            "--template",
            "discounts",
        ],
    );
    assert!(stderr(&by_ai).contains("403"), "{}", stderr(&by_ai));

    let space = json_as(
        &aylin,
        &[
            "space",
            "add",
            "--name",
            "Rabatte",
            "--team",
            &team_id,
            "--template",
            "discounts",
            "--principle",
            "Keine Rabatte über 15 % ohne Rücksprache",
        ],
    );
    let space_id = space["id"].as_str().unwrap().to_owned();
    assert_eq!(space["version"], 1);
    let shown = run_as(&vera, &["space", "show", &space_id]);
    assert!(stdout(&shown).contains("- Keine Rabatte über 15 % ohne Rücksprache"));

    // Simulation routes without storing anything.
    let simulated = run_as(
        &aylin,
        &[
            "space",
            "simulate",
            &space_id,
            "--amount",
            "500",
            "--risk",
            "low",
            "--reversible",
            "--assignee",
            &emil_id,
        ],
    );
    assert!(simulated.status.success(), "{}", stderr(&simulated));
    assert!(
        stdout(&simulated).contains("ai-decides-small-reversible"),
        "{}",
        stdout(&simulated)
    );
    let raise = |amount: &str| {
        json_as(
            &emil,
            &[
                "decision",
                "add",
                "--space",
                &space_id,
                "--question",
                &format!("Rabatt über {amount} EUR für die Stadtwerke?"),
                "--option",
                "10 % Rabatt",
                "--option",
                "Kein Rabatt",
                "--amount",
                amount,
                "--risk",
                "low",
                "--reversible",
                "--assignee",
                &emil_id,
                "--propose",
                "10 % Rabatt",
                "--rationale",
                "Treuer Kunde seit 2019.",
                "--confidence",
                "0.8",
            ],
        )
    };

    // 500 EUR: the AI worker decides. 5 000 EUR: it prepares, two decide.
    let small = raise("500");
    assert_eq!(
        (
            small["status"].as_str(),
            small["routing"]["autonomy"].as_str()
        ),
        (Some("decided"), Some("ai_decides")),
        "{small}"
    );
    let large = raise("5000");
    let large_id = large["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (
            large["status"].as_str(),
            large["routing"]["quorum"].as_i64()
        ),
        (Some("awaiting_approval"), Some(2)),
        "{large}"
    );
    let approve = |token: &str| {
        run_as(
            token,
            &[
                "decision",
                "approve",
                &large_id,
                "--option",
                "10 % Rabatt",
                "--reason",
                "Kunde ist es wert.",
            ],
        )
    };
    let by_emil = approve(&emil);
    assert!(!by_emil.status.success());
    assert!(
        stderr(&by_emil).contains("ai-never-approves"),
        "{}",
        stderr(&by_emil)
    );
    assert!(stderr(&approve(&vera)).contains("403"));
    let waiting = json_as(&aylin, &["decision", "list", "--awaiting-me"]);
    assert_eq!(waiting["items"][0]["id"], large_id.as_str(), "{waiting}");
    assert!(approve(&aylin).status.success());
    let twice = approve(&aylin);
    assert!(stderr(&twice).contains("409"), "{}", stderr(&twice));
    let decided = approve(&bernd);
    assert!(decided.status.success(), "{}", stderr(&decided));
    let trail = run_as(&vera, &["decision", "show", &large_id]);
    let trail = stdout(&trail);
    assert!(
        trail.contains("AI recommends: 10 % Rabatt")
            && trail.matches("decision.approved").count() == 2,
        "{trail}"
    );
    assert!(trail.contains("decision.decided"), "{trail}");
    let reviewed = json_as(
        &aylin,
        &[
            "decision",
            "outcome",
            &large_id,
            "--outcome",
            "good",
            "--note",
            "Auftrag verlängert",
        ],
    );
    assert_eq!(reviewed["outcome"], "good", "{reviewed}");

    // The register: a CSV with a row per decision, and the account of how
    // the AI's recommendations were followed and turned out.
    let csv = run_as(
        &vera,
        &["decision", "register", "--space", &space_id, "--csv"],
    );
    let csv = stdout(&csv);
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.lines().next().unwrap().contains("autonomy"), "{csv}");
    let summary = run_as(&vera, &["decision", "register", "--summary"]);
    let summary: Value = serde_json::from_str(&stdout(&summary)).unwrap();
    assert_eq!(
        (&summary["recommended"], &summary["followed"]),
        (&json!(1), &json!(1)),
        "{summary}"
    );
    assert_eq!(summary["followed_outcomes"]["good"], 1, "{summary}");
    assert_eq!(summary["ai_decided_outcomes"]["unreviewed"], 1, "{summary}");

    // A policy that denies everything sends every decision to people, and
    // the routing says why.
    let deny_all = dir.path().join("deny-all.cedar");
    std::fs::write(
        &deny_all,
        "@id(\"nothing-by-ai\")\nforbid (principal, action, resource);",
    )
    .unwrap();
    let edited = json_as(
        &aylin,
        &[
            "space",
            "edit",
            &space_id,
            "--policy-file",
            deny_all.to_str().unwrap(),
        ],
    );
    assert_eq!(edited["version"], 2);
    let after = raise("50");
    assert_eq!(
        (
            after["status"].as_str(),
            after["routing"]["autonomy"].as_str()
        ),
        (Some("awaiting_approval"), Some("human_only")),
        "{after}"
    );
    assert!(
        after["routing"]["explanation"]
            .as_str()
            .unwrap()
            .contains("decide denied by nothing-by-ai"),
        "{after}"
    );
    let not_empty = run_as(&aylin, &["space", "delete", &space_id]);
    assert!(!not_empty.status.success());

    let verified = tutti(&["audit", "verify", "--database-url", &url], &[]);
    assert!(verified.status.success(), "{}", stdout(&verified));
}
