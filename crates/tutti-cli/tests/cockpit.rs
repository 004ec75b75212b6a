//! The web cockpit in a real browser: `tutti up` with the demo org and the
//! real embedded model, headless Chromium driven over WebDriver
//! (chromedriver). A person signs in with the printed credentials, sees the
//! demo cockpit, approves a decision, has an AI worker run a work item and
//! sends it back for revision with feedback, switches to English, and signs
//! out. Each step asserts what the page shows and saves a screenshot under
//! `target/cockpit-screenshots/`.

#![expect(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// `tutti up`, killed when dropped.
struct Up {
    child: Child,
    url: String,
    email: String,
    password: String,
    token: String,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A chromedriver, killed when dropped.
struct Driver(Child, u16);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

/// The browser and the model, or `None` (outside CI) when either is missing.
fn prerequisites() -> Option<(PathBuf, PathBuf, PathBuf)> {
    let model = std::env::var_os("TUTTI_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(tutti_llm::EmbeddedConfig::default_model_path);
    let chromium = which("chromium").or_else(|| which("chromium-browser"));
    let driver = which("chromedriver");
    match (model.is_file(), chromium, driver) {
        (true, Some(chromium), Some(driver)) => Some((model, chromium, driver)),
        (has_model, chromium, driver) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI needs the model ({has_model}), chromium ({chromium:?}) and chromedriver ({driver:?})"
            );
            eprintln!(
                "\n!!! the browser tests did NOT run: model {has_model}, chromium {chromium:?}, chromedriver {driver:?}\n"
            );
            None
        }
    }
}

fn up(dir: &std::path::Path, model: &std::path::Path) -> Up {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tutti"))
        .args(["up", "--bind", "127.0.0.1:0", "--database-url"])
        .arg(format!("sqlite:{}", dir.join("tutti.db").display()))
        .env_remove("TUTTI_DATABASE_URL")
        .env("TUTTI_MODEL", model)
        .env("TUTTI_MODEL_THREADS", "1")
        .env("TUTTI_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut email, mut password) = (String::new(), String::new(), String::new());
    let token = loop {
        let line = lines.next().expect("tutti up ended early").unwrap();
        if let Some(rest) = line.strip_prefix("cockpit: ") {
            // cockpit: http://127.0.0.1:PORT/  (sign in as EMAIL with password PASSWORD)
            url = rest
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_owned();
            let words: Vec<&str> = rest.split_whitespace().collect();
            email = words[words.iter().position(|w| *w == "as").unwrap() + 1].to_owned();
            password = words.last().unwrap().trim_end_matches(')').to_owned();
        }
        if line == "owner token:" {
            break lines.next().unwrap().unwrap();
        }
    };
    assert!(
        !url.is_empty() && !password.is_empty(),
        "tutti up printed no sign-in"
    );
    Up {
        child,
        url,
        email,
        password,
        token,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn browser(chromium: &std::path::Path, driver: &std::path::Path) -> (Driver, Client) {
    let port = free_port();
    let mut child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // chromedriver says when it listens.
    let ready = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("started successfully"));
    assert!(ready, "chromedriver did not start");
    let driver = Driver(child, port);
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1100", "--lang=de-DE"],
            "prefs": { "intl.accept_languages": "de-DE,de" },
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.1))
        .await
        .unwrap();
    (driver, client)
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/cockpit-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn snap(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(png.len() > 1000, "an empty screenshot of {name}");
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn click(client: &Client, locator: Locator<'_>) {
    client.find(locator).await.unwrap().click().await.unwrap();
}

async fn type_into(client: &Client, locator: Locator<'_>, text: &str) {
    client
        .find(locator)
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

/// Waits until the page shows `locator` — something the page expected next
/// has and the one before lacks — and returns the page's main text. The
/// waiting is fantoccini's: it asks the browser until the element is there.
async fn wait_for(client: &Client, locator: Locator<'_>) -> String {
    if let Err(e) = client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(locator)
        .await
    {
        let text = text_of(client, "main").await;
        panic!("the page never showed {locator:?} ({e}):\n{text}");
    }
    text_of(client, "main").await
}

/// Waits for a run's `end` event on the API's stream: the run is over.
async fn wait_for_run_end(up: &Up, run_id: &str) {
    let mut stream = reqwest::Client::new()
        .get(format!("{}/api/v1/runs/{run_id}/stream", up.url))
        .bearer_auth(&up.token)
        .send()
        .await
        .unwrap();
    let mut seen = String::new();
    while let Some(chunk) = stream.chunk().await.unwrap() {
        seen.push_str(&String::from_utf8_lossy(&chunk));
        if seen.contains("event: end") {
            return;
        }
    }
    panic!("the run's stream closed without an end event:\n{seen}");
}

async fn api(up: &Up, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let http = reqwest::Client::new();
    let mut request = http
        .request(method, format!("{}/api/v1{path}", up.url))
        .bearer_auth(&up.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {value}");
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_signs_in_approves_reviews_and_switches_language() {
    let Some((model, chromium, driver)) = prerequisites() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let up = up(dir.path(), &model);
    let (_driver, client) = browser(&chromium, &driver).await;

    // Signing in with a wrong password is refused and says so.
    client.goto(&format!("{}/", up.url)).await.unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/sign-in")
    );
    type_into(&client, Locator::Id("email"), &up.email).await;
    type_into(&client, Locator::Id("password"), "not the password").await;
    click(&client, Locator::Css("button[type=submit]")).await;
    let refused = wait_for(&client, Locator::Css("p.problem")).await;
    assert!(
        refused.contains("E-Mail oder Passwort stimmt nicht."),
        "{refused}"
    );

    // Signing in with the printed credentials opens the demo cockpit, in German.
    type_into(&client, Locator::Id("email"), &up.email).await;
    type_into(&client, Locator::Id("password"), &up.password).await;
    click(&client, Locator::Css("button[type=submit]")).await;
    let home = wait_for(&client, Locator::Id("waiting-h")).await;
    assert!(home.contains("Wartet auf mich"), "{home}");
    for expected in [
        "Alarme",
        "Entscheidungen zur Freigabe",
        "Token-Verbrauch gegen Budgets",
        "Arbeitsfluss",
        "KI-Mitarbeiter",
        "Ada (KI-Angebotsassistenz)",
    ] {
        assert!(
            home.contains(expected),
            "the cockpit lacks “{expected}”:\n{home}"
        );
    }
    assert!(
        text_of(&client, "header")
            .await
            .contains("Lindner Gebäudetechnik GmbH")
    );
    assert_eq!(
        client
            .find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap()
            .as_deref(),
        Some("de")
    );
    assert!(
        client
            .find_all(Locator::Css("figure svg"))
            .await
            .unwrap()
            .len()
            >= 2,
        "the charts are missing"
    );
    snap(&client, "1-cockpit-de").await;

    // Approve the first decision waiting on the owner.
    let decision = client
        .find(Locator::Css("ul.waiting a[href^='/decisions/']"))
        .await
        .unwrap();
    let question = decision.text().await.unwrap();
    let decision_path = decision.attr("href").await.unwrap().unwrap();
    decision.click().await.unwrap();
    let page = wait_for(&client, Locator::Id("vote-h")).await;
    assert!(page.contains(&question));
    type_into(
        &client,
        Locator::Css("form[action$='/approve'] textarea[name=reason]"),
        "Passt zu unseren Grundsätzen.",
    )
    .await;
    click(
        &client,
        Locator::Css("form[action$='/approve'] button[type=submit]"),
    )
    .await;
    let page = wait_for(
        &client,
        Locator::XPath("//ul[@class='ballots']/li[contains(., 'Passt zu unseren Grundsätzen.')]"),
    )
    .await;
    assert!(page.contains("Katrin Lindner: gibt frei"), "{page}");
    assert!(
        !page.contains("Deine Stimme"),
        "the owner may not vote twice:\n{page}"
    );
    snap(&client, "2-decision-approved").await;
    let stored = api(&up, reqwest::Method::GET, &decision_path, None).await;
    assert!(
        stored["ballots"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["reason"] == "Passt zu unseren Grundsätzen.")
    );

    // An AI worker runs a work item; the owner sends it back with feedback.
    let members = api(&up, reqwest::Method::GET, "/members?limit=100", None).await;
    let ada = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"].as_str().unwrap().starts_with("Ada"))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let item = api(
        &up,
        reqwest::Method::POST,
        "/work-items",
        Some(json!({
            "title": "Angebotstext für die Wärmepumpe Familie Schulz",
            "description": "Zwei Sätze, freundlich, mit Preisrahmen.",
            "assignee_id": ada,
        })),
    )
    .await;
    let item_url = format!("{}/work/{}", up.url, item["id"].as_str().unwrap());
    client.goto(&item_url).await.unwrap();
    click(&client, Locator::Css("form[action$='/runs'] button")).await;
    let run = client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("section.run"))
        .await
        .unwrap();
    let run_id = run.attr("id").await.unwrap().unwrap();
    wait_for_run_end(&up, run_id.trim_start_matches("run-")).await;
    client.goto(&item_url).await.unwrap();
    let page = wait_for(&client, Locator::Css("form.review")).await;
    assert!(
        page.contains("Runde 1") && page.contains("fertig"),
        "{page}"
    );
    snap(&client, "3-run-to-review").await;
    click(&client, Locator::Css("input[name=verdict][value=revise]")).await;
    type_into(
        &client,
        Locator::Css("textarea[name=feedback]"),
        "Bitte den Preisrahmen nennen.",
    )
    .await;
    click(&client, Locator::Css("form.review button[type=submit]")).await;
    let page = wait_for(
        &client,
        Locator::XPath("//p[@class='review']/q[contains(., 'Bitte den Preisrahmen nennen.')]"),
    )
    .await;
    assert!(
        page.contains("Überarbeiten") && page.contains("Runde 2"),
        "{page}"
    );
    snap(&client, "4-run-revised").await;

    // From the ledger to the providers: the owner prices the demo model.
    client.goto(&format!("{}/ledger", up.url)).await.unwrap();
    click(&client, Locator::Css("nav.scope a[href='/providers']")).await;
    let providers = wait_for(&client, Locator::Id("providers-h")).await;
    assert!(providers.contains("Eingebautes Modell"), "{providers}");
    click(
        &client,
        Locator::XPath("//summary[contains(., 'Preise ändern')]"),
    )
    .await;
    let form = "form[action$='/models']";
    type_into(
        &client,
        Locator::Css(&format!("{form} input[name=name]")),
        "smollm2-135m",
    )
    .await;
    type_into(
        &client,
        Locator::Css(&format!("{form} input[name=input]")),
        "0,02",
    )
    .await;
    type_into(
        &client,
        Locator::Css(&format!("{form} input[name=output]")),
        "0,08",
    )
    .await;
    click(
        &client,
        Locator::Css(&format!("{form} button[type=submit]")),
    )
    .await;
    wait_for(
        &client,
        Locator::XPath("//table[contains(@class, 'models')]//td[contains(., '0,08')]"),
    )
    .await;
    let priced = api(&up, reqwest::Method::GET, "/providers", None).await;
    let model = priced[0]["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "smollm2-135m")
        .unwrap();
    assert_eq!(model["prices"]["output"], 80_000, "{model}");
    snap(&client, "5-providers").await;

    // Switching the language keeps the page and remembers the choice.
    client.goto(&format!("{}/", up.url)).await.unwrap();
    click(&client, Locator::Css("form[action='/language'] button")).await;
    let home = wait_for(
        &client,
        Locator::XPath("//h2[@id='waiting-h' and starts-with(., 'Waiting on me')]"),
    )
    .await;
    assert!(
        home.contains("Flow of work") && home.contains("Token spend against budgets"),
        "{home}"
    );
    assert_eq!(
        client
            .find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap()
            .as_deref(),
        Some("en")
    );
    client.goto(&format!("{}/decisions", up.url)).await.unwrap();
    let decisions = wait_for(&client, Locator::Id("register-h")).await;
    assert!(decisions.contains("Decision register"), "{decisions}");
    snap(&client, "6-cockpit-en").await;

    // Signing out ends the session: the cockpit asks to sign in again.
    click(&client, Locator::Css("form[action='/sign-out'] button")).await;
    wait_for(&client, Locator::Id("password")).await;
    client.goto(&format!("{}/", up.url)).await.unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/sign-in")
    );
    client.close().await.unwrap();
}

/// Chooses `value` in the select `css`.
async fn choose(client: &Client, css: &str, value: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
}

/// Sets a date field through the page (typing a date depends on the
/// browser's locale).
async fn set_date(client: &Client, css: &str, date: &str) {
    client
        .execute(
            "document.querySelector(arguments[0]).value = arguments[1];",
            vec![json!(css), json!(date)],
        )
        .await
        .unwrap();
}

/// The owner drives the levers in the browser: an objective with two key
/// results, work created for one of them and handed to an AI worker, work
/// moved on the board, a person invited (the password shown once), and an
/// AI worker added with a monthly budget. The API agrees at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_runs_the_team_from_the_browser() {
    let Some((model, chromium, driver)) = prerequisites() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let up = up(dir.path(), &model);
    let (_driver, client) = browser(&chromium, &driver).await;
    client.goto(&format!("{}/sign-in", up.url)).await.unwrap();
    type_into(&client, Locator::Id("email"), &up.email).await;
    type_into(&client, Locator::Id("password"), &up.password).await;
    click(&client, Locator::Css("button[type=submit]")).await;
    wait_for(&client, Locator::Id("waiting-h")).await;

    // An objective, then two key results.
    client
        .goto(&format!("{}/objectives", up.url))
        .await
        .unwrap();
    click(&client, Locator::Id("objective-new-h")).await;
    let form = "form[action='/objectives']";
    type_into(
        &client,
        Locator::Css(&format!("{form} input[name=title]")),
        "Wartungsverträge verlängern",
    )
    .await;
    type_into(
        &client,
        Locator::Css(&format!("{form} textarea[name=why]")),
        "Wer uns seine Heizung anvertraut, soll bleiben.",
    )
    .await;
    set_date(
        &client,
        &format!("{form} input[name=period_start]"),
        "2026-10-01",
    )
    .await;
    set_date(
        &client,
        &format!("{form} input[name=period_end]"),
        "2026-12-31",
    )
    .await;
    click(
        &client,
        Locator::Css(&format!("{form} button[type=submit]")),
    )
    .await;
    wait_for(
        &client,
        Locator::XPath("//h1[contains(., 'Wartungsverträge verlängern')]"),
    )
    .await;
    for (title, target) in [
        ("Verlängerungsquote", "85"),
        ("Angerufene Kundinnen", "120"),
    ] {
        click(&client, Locator::Id("kr-new-h")).await;
        let kr = "form[action$='/key-results']";
        type_into(
            &client,
            Locator::Css(&format!("{kr} input[name=title]")),
            title,
        )
        .await;
        type_into(
            &client,
            Locator::Css(&format!("{kr} input[name=baseline]")),
            "0",
        )
        .await;
        type_into(
            &client,
            Locator::Css(&format!("{kr} input[name=target]")),
            target,
        )
        .await;
        click(&client, Locator::Css(&format!("{kr} button[type=submit]"))).await;
        wait_for(
            &client,
            Locator::XPath(&format!("//h3[contains(., '{title}')]")),
        )
        .await;
    }
    snap(&client, "7-objective-with-key-results").await;

    // Work for the first key result, handed to the AI worker Ada, ready.
    let members = api(&up, reqwest::Method::GET, "/members?limit=100", None).await;
    let ada = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"].as_str().unwrap().starts_with("Ada"))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let work_form = "section.kr form[action='/work']";
    click(&client, Locator::Css("section.kr details.new-work summary")).await;
    type_into(
        &client,
        Locator::Css(&format!("{work_form} input[name=title]")),
        "Kundinnen mit auslaufendem Vertrag anschreiben",
    )
    .await;
    choose(&client, &format!("{work_form} select[name=assignee]"), &ada).await;
    choose(&client, &format!("{work_form} select[name=state]"), "ready").await;
    click(
        &client,
        Locator::Css(&format!("{work_form} button[type=submit]")),
    )
    .await;
    wait_for(
        &client,
        Locator::XPath("//h1[contains(., 'Kundinnen mit auslaufendem Vertrag anschreiben')]"),
    )
    .await;

    // Two more items from the board; one is moved on.
    for title in ["Rückrufliste bereinigen", "Vorlage Verlängerungsbrief"] {
        client.goto(&format!("{}/work", up.url)).await.unwrap();
        click(&client, Locator::Id("new-work")).await;
        type_into(
            &client,
            Locator::Css("form[action='/work'] input[name=title]"),
            title,
        )
        .await;
        click(
            &client,
            Locator::Css("form[action='/work'] button[type=submit]"),
        )
        .await;
        wait_for(
            &client,
            Locator::XPath(&format!("//h1[contains(., '{title}')]")),
        )
        .await;
    }
    client.goto(&format!("{}/work", up.url)).await.unwrap();
    let card = "//li[contains(@class, 'item')][.//a[contains(., 'Rückrufliste bereinigen')]]";
    let select = client
        .find(Locator::XPath(&format!("{card}//select[@name='state']")))
        .await
        .unwrap();
    select.select_by_value("ready").await.unwrap();
    click(&client, Locator::XPath(&format!("{card}//button"))).await;
    wait_for(
        &client,
        Locator::XPath(
            "//section[@aria-labelledby='col-ready']//a[contains(., 'Rückrufliste bereinigen')]",
        ),
    )
    .await;
    snap(&client, "8-board-moved").await;

    // A person invited, then an AI worker with a budget.
    client.goto(&format!("{}/people", up.url)).await.unwrap();
    let invite = "form[action='/people']";
    type_into(
        &client,
        Locator::Css(&format!("{invite} input[name=name]")),
        "Lena Fischer",
    )
    .await;
    type_into(
        &client,
        Locator::Css(&format!("{invite} input[name=email]")),
        "lena.fischer@lindner-gebaeudetechnik.de",
    )
    .await;
    click(
        &client,
        Locator::Css(&format!("{invite} button[type=submit]")),
    )
    .await;
    let shown = wait_for(&client, Locator::Css("code.secret")).await;
    assert!(shown.contains("Startpasswort für Lena Fischer"), "{shown}");
    let worker = "form[action='/people/ai']";
    type_into(
        &client,
        Locator::Css(&format!("{worker} input[name=name]")),
        "Theo (KI-Disposition)",
    )
    .await;
    type_into(
        &client,
        Locator::Css(&format!("{worker} textarea[name=role_card]")),
        "Du planst Einsätze der Servicetechniker.",
    )
    .await;
    type_into(
        &client,
        Locator::Css(&format!("{worker} input[name=budget_tokens]")),
        "100000",
    )
    .await;
    click(
        &client,
        Locator::Css(&format!("{worker} button[type=submit]")),
    )
    .await;
    wait_for(
        &client,
        Locator::XPath("//th[contains(., 'Theo (KI-Disposition)')]"),
    )
    .await;
    snap(&client, "9-people").await;

    // Every page at a phone's size, for a look at how the cockpit reads there.
    client.set_window_size(390, 844).await.unwrap();
    for (name, page) in [
        ("home", "/"),
        ("objectives", "/objectives"),
        ("work", "/work"),
        ("decisions", "/decisions"),
        ("spaces", "/spaces"),
        ("people", "/people"),
        ("ledger", "/ledger"),
        ("providers", "/providers"),
        ("alerts", "/alerts"),
        ("audit", "/audit"),
    ] {
        client.goto(&format!("{}{page}", up.url)).await.unwrap();
        wait_for(&client, Locator::Css("main")).await;
        snap(&client, &format!("phone-{name}")).await;
    }

    let items = api(&up, reqwest::Method::GET, "/work-items?limit=500", None).await;
    let titled = |title: &str| {
        items["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["title"] == title)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        titled("Kundinnen mit auslaufendem Vertrag anschreiben")["assignee_id"],
        json!(ada)
    );
    assert!(titled("Kundinnen mit auslaufendem Vertrag anschreiben")["key_result_id"].is_string());
    assert_eq!(titled("Rückrufliste bereinigen")["state"], "ready");
    let budgets = api(&up, reqwest::Method::GET, "/budgets", None).await;
    assert!(
        budgets
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["token_limit"] == 100_000),
        "{budgets}"
    );
    client.close().await.unwrap();
}
