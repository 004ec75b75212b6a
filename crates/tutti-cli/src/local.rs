//! Commands that open the database directly: serve and up, migrate, init,
//! token creation, audit verification.
//!
//! The backend is chosen once, from the URL's scheme; each command is a
//! [`StoreJob`] that then runs on the concrete store type.

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, bail};
use std::sync::Arc;
use std::time::Duration;
use tutti_domain::org::{MemberKind, Role};
use tutti_domain::validate::Email;
use tutti_engine::{Clock, SystemClock};

use tutti_engine::{Engine, EngineConfig, Models, Runtime};
use tutti_llm::EmbeddedConfig;
use tutti_server::{AppState, auth};
use tutti_store::postgres::PgStore;
use tutti_store::prelude::*;
use tutti_store::sqlite::SqliteStore;
use tutti_store::{Backend, Ctx, NewMember, PageRequest};
use uuid::Uuid;

/// A command that needs a store, whichever backend it is.
pub trait StoreJob {
    fn run<S: Store>(self, store: S) -> impl Future<Output = anyhow::Result<ExitCode>>;
}

/// Opens the database the URL names (creating a SQLite file's directory) and
/// runs the job on it.
pub async fn with_store<J: StoreJob>(url: &str, job: J) -> anyhow::Result<ExitCode> {
    match Backend::from_url(url).map_err(|e| anyhow::anyhow!("--database-url {}", e.message))? {
        Backend::Sqlite => {
            if let Some(dir) = sqlite_dir(url) {
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let store = SqliteStore::connect(url)
                .await
                .with_context(|| format!("opening {url}"))?;
            job.run(store).await
        }
        Backend::Postgres => {
            let store = PgStore::connect(url)
                .await
                .context("connecting to PostgreSQL")?;
            job.run(store).await
        }
    }
}

/// The directory of a `sqlite:` URL's file, if it names one.
fn sqlite_dir(url: &str) -> Option<std::path::PathBuf> {
    let path = url.strip_prefix("sqlite:")?;
    let path = path.strip_prefix("//").unwrap_or(path);
    let path = path.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    std::path::Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Into::into)
}

async fn migrate<S: Store>(store: &S) -> anyhow::Result<()> {
    store.migrate().await.context("migrating the database")
}

pub struct Migrate;

impl StoreJob for Migrate {
    async fn run<S: Store>(self, store: S) -> anyhow::Result<ExitCode> {
        migrate(&store).await?;
        println!("{} database is up to date", store.backend());
        Ok(ExitCode::SUCCESS)
    }
}

pub struct Init {
    pub org: String,
    pub owner: String,
    pub name: Option<String>,
    pub currency: String,
}

impl StoreJob for Init {
    async fn run<S: Store>(self, store: S) -> anyhow::Result<ExitCode> {
        migrate(&store).await?;
        let email = Email::parse("--owner", &self.owner)?;
        let name = self.name.unwrap_or_else(|| {
            email
                .as_str()
                .split('@')
                .next()
                .unwrap_or_default()
                .to_owned()
        });
        let owner = NewMember {
            kind: MemberKind::Human,
            name,
            email: Some(email),
            role: Role::Owner,
            teams: vec![],
            role_card: None,
            provider: None,
            model: None,
        };
        let (org, owner) = store
            .create_org(&self.org, &self.currency, owner, SystemClock.now())
            .await?;
        let token = mint_token(&store, org.id, owner.id, "tutti init").await?;
        println!("created org {} ({})", org.name, org.id);
        println!("owner {} ({})", owner.name, owner.id);
        println!("{token}");
        Ok(ExitCode::SUCCESS)
    }
}

/// `tutti import org`: an exported org, as a new org of this database.
pub struct ImportOrg {
    pub file: std::path::PathBuf,
}

impl StoreJob for ImportOrg {
    async fn run<S: Store>(self, store: S) -> anyhow::Result<ExitCode> {
        let text = std::fs::read_to_string(&self.file)
            .with_context(|| format!("cannot read {}", self.file.display()))?;
        migrate(&store).await?;
        let imported = tutti_engine::transfer::import_org(&store, &text, SystemClock.now())
            .await
            .map_err(|e| match e {
                tutti_engine::EngineError::Invalid(invalid) => anyhow::anyhow!(
                    "{}: {}: {} (nothing was imported)",
                    self.file.display(),
                    invalid.field,
                    invalid.message
                ),
                other => anyhow::Error::new(other).context("importing the org"),
            })?;
        let token = mint_token(&store, imported.org.id, imported.owner.id, "tutti import").await?;
        println!("imported org {} ({})", imported.org.name, imported.org.id);
        for (what, count) in &imported.counts {
            if *count > 0 {
                println!("  {count:>6} {}", what.replace('_', " "));
            }
        }
        println!(
            "owner {} ({}); tokens and passwords are not carried: set them again",
            imported.owner.name, imported.owner.id
        );
        println!("{token}");
        Ok(ExitCode::SUCCESS)
    }
}

pub async fn mint_token<S: Store>(
    store: &S,
    org_id: Uuid,
    member_id: Uuid,
    label: &str,
) -> anyhow::Result<String> {
    let (token, hash) = auth::new_token().context("drawing a random token")?;
    store
        .create_token(
            &Ctx::new(org_id, Some(member_id), SystemClock.now()),
            member_id,
            label,
            &hash,
        )
        .await?;
    Ok(token)
}

pub struct CreateToken {
    pub email: String,
    pub org: Option<Uuid>,
    pub label: String,
}

impl StoreJob for CreateToken {
    async fn run<S: Store>(self, store: S) -> anyhow::Result<ExitCode> {
        migrate(&store).await?;
        let email = Email::parse("--member", &self.email)?;
        let org_id = the_org(&store, self.org).await?;
        let member = store
            .member_by_email(org_id, &email)
            .await
            .with_context(|| format!("no member with email {email} in org {org_id}"))?;
        let token = mint_token(&store, org_id, member.id, &self.label).await?;
        eprintln!(
            "token for {} ({}, {}); it is shown only now:",
            member.name, member.role, member.id
        );
        println!("{token}");
        Ok(ExitCode::SUCCESS)
    }
}

/// The org a command means: the one named, or the only one there is.
async fn the_org<S: Store>(store: &S, named: Option<Uuid>) -> anyhow::Result<Uuid> {
    if let Some(id) = named {
        return Ok(id);
    }
    let orgs = store.orgs().await?;
    match orgs.as_slice() {
        [] => bail!("the database has no org yet; run `tutti init` first"),
        [only] => Ok(only.id),
        _ => bail!(
            "the database holds {} orgs; name one with --org",
            orgs.len()
        ),
    }
}

pub struct SetPassword {
    pub email: String,
    pub org: Option<Uuid>,
}

impl StoreJob for SetPassword {
    async fn run<S: Store>(self, store: S) -> anyhow::Result<ExitCode> {
        migrate(&store).await?;
        let email = Email::parse("--email", &self.email)?;
        let org_id = the_org(&store, self.org).await?;
        let member = store
            .member_by_email(org_id, &email)
            .await
            .with_context(|| format!("no member with email {email} in org {org_id}"))?;
        let password = match std::env::var("TUTTI_PASSWORD") {
            Ok(password) => password,
            Err(_) => {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("reading the password from standard input")?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            }
        };
        let hash = tutti_server::web::session::hash_password(&password)
            .map_err(|e| anyhow::anyhow!("{}", e.detail()))?;
        store
            .set_password(&Ctx::new(org_id, None, SystemClock.now()), member.id, &hash)
            .await?;
        eprintln!(
            "password set for {} ({}); their sessions have ended",
            member.name, member.id
        );
        Ok(ExitCode::SUCCESS)
    }
}

pub struct VerifyAudit;

impl StoreJob for VerifyAudit {
    async fn run<S: Store>(self, store: S) -> anyhow::Result<ExitCode> {
        let mut intact = true;
        for org in store.orgs().await? {
            match store.verify_chain(org.id).await? {
                Ok(events) => println!("{} ({}): {events} events verified", org.name, org.id),
                Err(broken) => {
                    intact = false;
                    println!("{} ({}): {broken}", org.name, org.id);
                }
            }
        }
        Ok(if intact {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

pub struct Serve {
    pub bind: SocketAddr,
    /// Seed the demo org into an empty database and print an owner token.
    pub demo: bool,
    pub engine: crate::cli::EngineArgs,
    /// The OpenAI-compatible server the demo's AI workers use instead of
    /// the embedded model.
    pub provider: Option<DemoProvider>,
}

/// `tutti up --provider-url … --provider-model …`.
pub struct DemoProvider {
    pub url: String,
    pub model: String,
    pub key_env: Option<String>,
}

/// The runtime of a serving process: its models and, unless switched off, the
/// engine that works the run queue (whose lease name comes back with it).
fn start_engine<S: Store>(
    store: &S,
    args: &crate::cli::EngineArgs,
    public_url: &str,
) -> (Arc<Runtime>, Option<String>) {
    let path = args
        .model
        .clone()
        .unwrap_or_else(EmbeddedConfig::default_model_path);
    if !path.is_file() {
        tracing::warn!(
            "no model file at {}: work on the embedded provider is left to processes that have one, and fails while none is running (scripts/fetch-model, or --model / TUTTI_MODEL)",
            path.display()
        );
    }
    let mut embedded = EmbeddedConfig::new(path);
    if let Some(threads) = args.model_threads {
        embedded.threads = threads.max(1);
    }
    let runtime = Runtime::new(Models::new(Some(embedded)));
    let mut node = None;
    if !args.no_engine {
        let config = EngineConfig {
            lease: Duration::from_secs(args.run_lease_secs.max(1)),
            heartbeat: Duration::from_secs((args.run_lease_secs / 5).clamp(1, 5)),
            concurrency: args.engine_concurrency.max(1),
            public_url: public_url.to_owned(),
            ..EngineConfig::default()
        };
        node = Some(runtime.node.clone());
        tokio::spawn(Engine::new(store.clone(), runtime.clone(), config).run());
    }
    (runtime, node)
}

impl StoreJob for Serve {
    async fn run<S: Store>(self, store: S) -> anyhow::Result<ExitCode> {
        migrate(&store).await?;
        let listener = tokio::net::TcpListener::bind(self.bind)
            .await
            .with_context(|| format!("binding {}", self.bind))?;
        let address = listener.local_addr()?;
        if self.demo {
            let orgs = store.orgs().await?;
            let (org_id, owner, sign_in) = match orgs.first() {
                None => {
                    let demo = crate::demo::seed(&store, SystemClock.now())
                        .await
                        .context("seeding the demo org")?;
                    println!("seeded the demo org {}", demo.org_name);
                    let password = crate::demo::set_demo_passwords(&store, &demo).await?;
                    let sign_in = format!("sign in as {} with password {password}", demo.owner_email);
                    (demo.org_id, demo.owner_id, sign_in)
                }
                Some(org) => (
                    org.id,
                    first_owner(&store, org.id).await?,
                    "sign in with the password shown when the demo was seeded, or set one: tutti member set-password --email …".to_owned(),
                ),
            };
            if let Some(provider) = &self.provider {
                let ctx = Ctx::new(org_id, Some(owner), SystemClock.now());
                crate::demo::use_provider(
                    &store,
                    &ctx,
                    &provider.url,
                    &provider.model,
                    provider.key_env.as_deref(),
                )
                .await
                .context("putting the demo's AI workers on the provider")?;
                println!(
                    "the demo's AI workers run on {} at {}",
                    provider.model, provider.url
                );
            }
            let token = mint_token(&store, org_id, owner, "tutti up").await?;
            println!(
                "tutti is serving on http://{address}  (database: {})",
                store.backend()
            );
            println!(
                "API: http://{address}/api/v1   OpenAPI: http://{address}/api/v1/openapi.json"
            );
            let server = if address.to_string() == "127.0.0.1:8080" {
                String::new()
            } else {
                format!("TUTTI_SERVER=http://{address} ")
            };
            println!("cockpit: http://{address}/  ({sign_in})");
            println!("try: {server}TUTTI_TOKEN={token} tutti objective tree");
            println!("owner token:");
            println!("{token}");
        } else {
            println!(
                "tutti is serving on http://{address}  (database: {})",
                store.backend()
            );
        }
        let public_url = self
            .engine
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"));
        let (runtime, node) = start_engine(&store, &self.engine, &public_url);
        let mut state = AppState::with_runtime(store.clone(), runtime);
        state.secure_cookies = public_url.starts_with("https://");
        tutti_server::serve(listener, state)
            .await
            .context("serving")?;
        if let Some(node) = node {
            // Runs this process was working on go back to the queue now,
            // rather than when their leases run out.
            match store.hand_back_leases(&node, SystemClock.now()).await {
                Ok(0) => {}
                Ok(runs) => tracing::info!(runs, "handed back the leases of unfinished runs"),
                Err(e) => tracing::warn!("cannot hand back leases ({e}); they will expire"),
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}

async fn first_owner<S: Store>(store: &S, org_id: Uuid) -> anyhow::Result<Uuid> {
    let mut page = PageRequest {
        after: None,
        limit: PageRequest::MAX_LIMIT,
    };
    loop {
        let members = store.members(org_id, page).await?;
        if let Some(owner) = members.items.iter().find(|m| m.role == Role::Owner) {
            return Ok(owner.id);
        }
        match members.next_cursor.and_then(|c| c.parse().ok()) {
            Some(after) => page.after = Some(after),
            None => bail!("the org {org_id} has no owner"),
        }
    }
}
