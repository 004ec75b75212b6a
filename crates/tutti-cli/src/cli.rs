//! The command line: argument definitions only; what each command does lives
//! in the modules named after it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use uuid::Uuid;

pub const DEFAULT_DATABASE_URL: &str = "sqlite:./tutti-data/tutti.db";

#[derive(Debug, Parser)]
#[command(
    name = "tutti",
    version,
    about = "The orchestration cockpit for hybrid teams of people and AI workers."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct Database {
    /// `sqlite:PATH` (the default, embedded) or `postgres://…`.
    #[arg(long, env = "TUTTI_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
}

#[derive(Debug, Args, Clone)]
pub struct Remote {
    /// The server to talk to.
    #[arg(
        long,
        env = "TUTTI_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub server: String,
    /// An API token (`tutti token create` or the one `tutti up` prints).
    #[arg(long, env = "TUTTI_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set everything up and run: migrate, seed a demo org on an empty database, serve.
    Up {
        #[command(flatten)]
        db: Database,
        #[arg(long, env = "TUTTI_BIND", default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        #[command(flatten)]
        engine: EngineArgs,
        /// Put the demo's AI workers on this OpenAI-compatible server
        /// instead of the embedded model (Ollama: http://127.0.0.1:11434/v1).
        #[arg(long, env = "TUTTI_PROVIDER_URL", requires = "provider_model")]
        provider_url: Option<String>,
        /// The model they ask there (e.g. qwen2.5:7b).
        #[arg(long, env = "TUTTI_PROVIDER_MODEL", requires = "provider_url")]
        provider_model: Option<String>,
        /// The environment variable of this server that holds its API key.
        #[arg(long, env = "TUTTI_PROVIDER_KEY_ENV", requires = "provider_url")]
        provider_key_env: Option<String>,
    },
    /// tutti's MCP server on stdio, for an agent that spawns its tools;
    /// authorised by the AI worker's token in TUTTI_TOKEN, talking to the
    /// server at --server.
    Mcp {
        #[command(flatten)]
        remote: Remote,
    },
    /// Serve the API (migrating first).
    Serve {
        #[command(flatten)]
        db: Database,
        #[arg(long, env = "TUTTI_BIND", default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Apply pending database migrations.
    Migrate {
        #[command(flatten)]
        db: Database,
    },
    /// Create an org and its owner; prints the owner's token on the last line.
    Init {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        org: String,
        #[arg(long)]
        owner: String,
        /// The owner's display name (defaults to the part of the email before the @).
        #[arg(long)]
        name: Option<String>,
        /// ISO 4217 code of the org's currency.
        #[arg(long, default_value = "EUR")]
        currency: String,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The audit chain.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The service catalogue (talks to a running server).
    Service {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: ServiceCommand,
    },
    /// Promises to customers: made, signed off, paused, kept or broken
    /// (talks to a running server).
    Promise {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: PromiseCommand,
    },
    /// Flows: the stages of a value stream and the gates between them
    /// (talks to a running server).
    Flow {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: FlowCommand,
    },
    /// Bring work in from elsewhere (talks to a running server).
    Import {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Take the whole org (JSON), its work or its objectives (CSV) out
    /// (talks to a running server).
    Export {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// The team's voice: anonymous pulse surveys, their answers and their
    /// results (talks to a running server).
    Pulse {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: PulseCommand,
    },
    /// What each person and AI worker of a team carries, and who is
    /// overloaded (talks to a running server).
    Workload {
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        args: WorkloadArgs,
    },
    /// Work-order templates, the org's prompt library, with each
    /// version's track record (talks to a running server).
    Template {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: TemplateCommand,
    },
    /// The org's AI capacity: each worker's concurrency, queue and wait,
    /// and the org's cap on runs at once; the flags change them (talks to
    /// a running server).
    Capacity {
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        args: CapacityArgs,
    },
    /// Where AI labour has leverage: settled AI spend against accepted
    /// results, cycle time and the key-result points it served, by
    /// objective, team or the orderer's role (talks to a running server).
    Leverage {
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        args: LeverageArgs,
    },
    /// Evidence behind check-ins: done work or accepted AI results (talks
    /// to a running server).
    Evidence {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: EvidenceCommand,
    },
    /// Routines: planned, recurring work made each time a schedule falls
    /// due (talks to a running server).
    Routine {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: RoutineCommand,
    },
    /// A gate's criteria and their versions (talks to a running server).
    Gate {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: GateCommand,
    },
    /// Cases moving through a flow: checks and verdicts at its gates
    /// (talks to a running server).
    Case {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: CaseCommand,
    },
    /// Learnings that flow back to gates and service products (talks to a
    /// running server).
    Learning {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: LearningCommand,
    },
    /// Teams (talks to a running server).
    Team {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: TeamCommand,
    },
    /// People and AI workers (talks to a running server).
    Member {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: MemberCommand,
    },
    /// Objectives and their alignment tree (talks to a running server).
    Objective {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: ObjectiveCommand,
    },
    /// Key results (talks to a running server).
    #[command(name = "kr")]
    KeyResult {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: KeyResultCommand,
    },
    /// Check-ins on key results (talks to a running server).
    #[command(name = "checkin")]
    CheckIn {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: CheckInCommand,
    },
    /// Work items (talks to a running server).
    Work {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: WorkCommand,
    },
    /// Model providers and their prices (talks to a running server).
    Provider {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: ProviderCommand,
    },
    /// Alerts raised from the cockpit's signals (talks to a running server).
    Alert {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: AlertCommand,
    },
    /// Webhooks that alerts are sent to, Slack or Teams (talks to a running server).
    Webhook {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: WebhookCommand,
    },
    /// Token and cost budgets (talks to a running server).
    Budget {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: BudgetCommand,
    },
    /// Runs of work orders by AI workers (talks to a running server).
    Run {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: RunCommand,
    },
    /// Reviews of AI workers' runs (talks to a running server).
    Review {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: ReviewCommand,
    },
    /// The token ledger (talks to a running server).
    Ledger {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Decision spaces: principles and a Cedar policy (talks to a running server).
    Space {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: SpaceCommand,
    },
    /// Decisions, votes and the register (talks to a running server).
    Decision {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: DecisionCommand,
    },
    /// Who the token belongs to (talks to a running server).
    Whoami {
        #[command(flatten)]
        remote: Remote,
    },
    /// The org and its settings (talks to a running server).
    Org {
        #[command(flatten)]
        remote: Remote,
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Measure performance.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for a member, found by email; prints it once.
    Create {
        #[command(flatten)]
        db: Database,
        /// The member's email.
        #[arg(long)]
        member: String,
        /// The org's id, needed only when the database holds several orgs.
        #[arg(long)]
        org: Option<Uuid>,
        #[arg(long, default_value = "cli")]
        label: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk every org's chain; exits non-zero naming the first broken event.
    Verify {
        #[command(flatten)]
        db: Database,
    },
    /// The audit log of the token's org (talks to a running server).
    Log {
        #[command(flatten)]
        remote: Remote,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        action: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    List,
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        parent: Option<Uuid>,
        #[arg(long)]
        lead: Option<Uuid>,
    },
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    List,
    Show {
        id: Uuid,
    },
    /// Issues an API token for a member (admins; an AI worker's is what
    /// its agent or the gateway's caller uses), shown once.
    Token {
        id: Uuid,
        /// Where the token will be used, to recognise it later.
        #[arg(long)]
        label: Option<String>,
    },
    /// Sets the zone you read times in, in the cockpit (an IANA name);
    /// without one, you follow the org's.
    Zone {
        name: Option<String>,
    },
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: Option<String>,
        /// owner, admin, lead, member or viewer.
        #[arg(long, default_value = "member")]
        role: String,
        /// human or ai.
        #[arg(long, default_value = "human")]
        kind: String,
        /// A team id; repeat for several.
        #[arg(long = "team")]
        teams: Vec<Uuid>,
        /// For AI workers: who they are and how they work.
        #[arg(long)]
        role_card: Option<String>,
        /// For AI workers: the provider and model their runs and gateway
        /// calls use.
        #[arg(long)]
        provider: Option<String>,
        #[arg(long)]
        model: Option<String>,
        /// For AI workers: an agent outside tutti claims their work (over
        /// MCP, `tutti mcp`); the engine never runs it.
        #[arg(long)]
        external: bool,
    },
    /// Set a person's password for the web cockpit (works on the database,
    /// not through a server). The password is read from the first line of
    /// standard input, or from TUTTI_PASSWORD; at least 10 characters.
    SetPassword {
        #[command(flatten)]
        db: Database,
        /// The person's email.
        #[arg(long)]
        email: String,
        /// The org's id, needed only when the database holds several orgs.
        #[arg(long)]
        org: Option<Uuid>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// The whole org as JSON, for `tutti import org` elsewhere: everything
    /// but secrets and this installation's history (admins).
    Org {
        /// Write here instead of to standard output.
        #[arg(long, short)]
        out: Option<std::path::PathBuf>,
    },
    /// Work items as CSV, one row each (for a spreadsheet, or `tutti
    /// import work`).
    Work {
        /// Only this team's work.
        #[arg(long)]
        team: Option<Uuid>,
        #[arg(long, short)]
        out: Option<std::path::PathBuf>,
    },
    /// Objectives and their key results as CSV, a row per key result.
    Objectives {
        #[arg(long, short)]
        out: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// A whole org written by `tutti export org`, as a new org in this
    /// database (opened directly, like `tutti init`), all or nothing; prints
    /// its first owner's token on the last line.
    Org {
        file: std::path::PathBuf,
        #[command(flatten)]
        db: Database,
    },
    /// Work items from a CSV sheet, as `tutti export work` writes it:
    /// columns by header, `key` and `title` required; `description`,
    /// `state`, `priority`, `assignee` (email or name), `parent` (a key),
    /// `due` (2026-03-17) and `labels` read when there. Keyed by `key` (an
    /// id from tutti, or any key of your own): imported again, updates.
    Work {
        file: std::path::PathBuf,
        /// The team new work goes to (its lead or an admin imports).
        #[arg(long)]
        team: Option<Uuid>,
        /// Show what would be created and updated; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Objectives and their key results from a CSV sheet, as `tutti export
    /// objectives` writes it (admins), all or nothing.
    Objectives { file: std::path::PathBuf },
    /// A Jira project: its CSV export, or saved responses of
    /// /rest/api/3/search/jql (JSON). Imported again, an issue (by its key)
    /// is updated, not duplicated.
    Jira {
        /// The file (`.csv`, or JSON: one response or an array of them).
        file: std::path::PathBuf,
        /// The team the work goes to (its lead or an admin imports).
        #[arg(long)]
        team: Option<Uuid>,
        /// Show what would be created and updated; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// Open alerts, newest first.
    List {
        /// Also alerts whose condition has cleared.
        #[arg(long)]
        all: bool,
        /// Only the alerts about you or your teams (admins: all).
        #[arg(long)]
        mine: bool,
        /// de or en, for the explanations.
        #[arg(long, default_value = "en")]
        lang: String,
    },
    /// Evaluate the signals now (admins).
    Refresh,
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    List,
    Add {
        #[arg(long)]
        name: String,
        /// slack or teams.
        #[arg(long)]
        format: String,
        /// The incoming-webhook URL; it is never shown again.
        #[arg(long)]
        url: String,
        /// de or en: the language of its messages.
        #[arg(long, default_value = "de")]
        locale: String,
        /// Send only the alerts of this team and the teams below it.
        #[arg(long)]
        team: Option<Uuid>,
    },
    Delete {
        id: Uuid,
    },
    /// A webhook's delivery log.
    Deliveries {
        id: Uuid,
    },
}

#[derive(Debug, Subcommand)]
pub enum ObjectiveCommand {
    List,
    /// The alignment tree with rolled-up progress.
    Tree,
    Show {
        id: Uuid,
    },
    Add {
        #[arg(long)]
        title: String,
        /// Why it matters.
        #[arg(long, default_value = "")]
        why: String,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        start: String,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        end: String,
        #[arg(long)]
        team: Option<Uuid>,
        #[arg(long)]
        owner: Option<Uuid>,
        #[arg(long)]
        parent: Option<Uuid>,
    },
    /// Changes what is given; the rest stays.
    Edit {
        id: Uuid,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        why: Option<String>,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        start: Option<String>,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        end: Option<String>,
        #[arg(long, conflicts_with = "no_team")]
        team: Option<Uuid>,
        /// Takes it out of its team.
        #[arg(long)]
        no_team: bool,
        #[arg(long, conflicts_with = "no_owner")]
        owner: Option<Uuid>,
        /// Leaves it without an owner.
        #[arg(long)]
        no_owner: bool,
        /// Hangs it below another objective.
        #[arg(long, conflicts_with = "top")]
        parent: Option<Uuid>,
        /// Makes it a top objective (no parent).
        #[arg(long)]
        top: bool,
        /// active, achieved or dropped.
        #[arg(long)]
        status: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyResultCommand {
    Show {
        id: Uuid,
    },
    Add {
        #[arg(long)]
        objective: Uuid,
        #[arg(long)]
        title: String,
        #[arg(long, allow_negative_numbers = true)]
        baseline: f64,
        #[arg(long, allow_negative_numbers = true)]
        target: f64,
        #[arg(long, default_value = "")]
        unit: String,
        #[arg(long, default_value_t = 5)]
        confidence: i64,
    },
    /// Changes what is given; a new target is kept as a move with its
    /// reason, the old one stays visible.
    Edit {
        id: Uuid,
        #[arg(long)]
        title: Option<String>,
        #[arg(long, allow_negative_numbers = true)]
        baseline: Option<f64>,
        #[arg(long, allow_negative_numbers = true)]
        target: Option<f64>,
        #[arg(long)]
        unit: Option<String>,
        /// Why the target moves.
        #[arg(long, requires = "target")]
        reason: Option<String>,
    },
    /// How its target moved.
    Targets {
        id: Uuid,
    },
}

#[derive(Debug, Subcommand)]
pub enum CheckInCommand {
    List {
        #[arg(long = "kr")]
        key_result: Uuid,
    },
    Add {
        #[arg(long = "kr")]
        key_result: Uuid,
        #[arg(long, allow_negative_numbers = true)]
        value: f64,
        #[arg(long)]
        confidence: i64,
        #[arg(long, default_value = "")]
        note: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum WorkCommand {
    List {
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        assignee: Option<Uuid>,
        #[arg(long = "kr")]
        key_result: Option<Uuid>,
        #[arg(long)]
        team: Option<Uuid>,
        /// Only work that serves no key result.
        #[arg(long)]
        unaligned: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    Show {
        id: Uuid,
    },
    Add {
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long)]
        team: Option<Uuid>,
        #[arg(long)]
        assignee: Option<Uuid>,
        /// The key result this work serves.
        #[arg(long = "kr")]
        key_result: Option<Uuid>,
        /// planned or unplanned.
        #[arg(long, default_value = "planned")]
        kind: String,
        /// low, normal, high or urgent.
        #[arg(long, default_value = "normal")]
        priority: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        due: Option<String>,
        /// The service product it belongs to.
        #[arg(long)]
        service: Option<Uuid>,
    },
    /// Move a work item to another state.
    Move {
        id: Uuid,
        state: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Seed a large org and measure the API under concurrent clients.
    Api(ApiBench),
    /// Measure the embedded model: prompt reading and generation speed.
    Model(ModelBench),
    /// Measure what the gateway adds to a model call, against a local upstream.
    Gateway(GatewayBench),
    /// Measure decision-space policy evaluation and the POST /decisions path.
    Policy(PolicyBench),
    /// Measure the server time of every cockpit page for the `bench api` org.
    Ui(UiBench),
}

#[derive(Debug, Args)]
pub struct UiBench {
    /// Where to run; by default a fresh SQLite file in a temporary directory.
    #[arg(long)]
    pub sqlite_dir: Option<PathBuf>,
    /// Also run on this PostgreSQL server (a fresh database is created on it).
    #[arg(long, env = "TUTTI_BENCH_POSTGRES_URL")]
    pub postgres_url: Option<String>,
    /// Requests per page, one after another.
    #[arg(long, default_value_t = 30)]
    pub requests: u32,
    #[arg(long, default_value_t = 10_000)]
    pub objectives: usize,
    #[arg(long, default_value_t = 40_000)]
    pub key_results: usize,
    #[arg(long, default_value_t = 200_000)]
    pub work_items: usize,
}

#[derive(Debug, Args)]
pub struct PolicyBench {
    /// Policies per space, one measurement each.
    #[arg(long, value_delimiter = ',', default_values_t = [10, 1000])]
    pub sizes: Vec<usize>,
    /// Evaluations timed alone per size.
    #[arg(long, default_value_t = 100_000)]
    pub evaluations: u64,
    /// Concurrent clients on POST /decisions.
    #[arg(long, default_value_t = 1)]
    pub clients: usize,
    /// Seconds of load on POST /decisions per size.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
}

#[derive(Debug, Args)]
pub struct GatewayBench {
    /// Also run on this PostgreSQL server (a fresh database is created on it).
    #[arg(long, env = "TUTTI_BENCH_POSTGRES_URL")]
    pub postgres_url: Option<String>,
    /// Concurrent clients, one measurement each.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 32, 256])]
    pub clients: Vec<usize>,
    /// Seconds of load per measurement and path.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
}

#[derive(Debug, Args)]
pub struct ModelBench {
    /// The GGUF file (default: TUTTI_MODEL, else the cache scripts/fetch-model fills).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// llama.cpp threads.
    #[arg(long, env = "TUTTI_MODEL_THREADS")]
    pub threads: Option<i32>,
    /// Tokens generated per request.
    #[arg(long, default_value_t = 128)]
    pub tokens: u32,
    /// Repetitions of each measurement; the median is printed.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Instead of speed: how repetitive the answers to a fixed set of work
    /// orders are under each repetition-control setting.
    #[arg(long)]
    pub quality: bool,
}

#[derive(Debug, Args)]
pub struct ApiBench {
    /// Where to run; by default a fresh SQLite file in a temporary directory.
    #[arg(long)]
    pub sqlite_dir: Option<PathBuf>,
    /// Also run on this PostgreSQL server (a fresh database is created on it).
    #[arg(long, env = "TUTTI_BENCH_POSTGRES_URL")]
    pub postgres_url: Option<String>,
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Seconds of load per endpoint.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    #[arg(long, default_value_t = 10_000)]
    pub objectives: usize,
    #[arg(long, default_value_t = 40_000)]
    pub key_results: usize,
    #[arg(long, default_value_t = 200_000)]
    pub work_items: usize,
}

/// How this process runs AI work.
#[derive(Debug, Clone, clap::Args)]
pub struct EngineArgs {
    /// The GGUF file of the embedded model (default: the cache that
    /// scripts/fetch-model fills).
    #[arg(long = "model", env = "TUTTI_MODEL")]
    pub model: Option<std::path::PathBuf>,
    /// CPU threads for the embedded model (default: cores, at most 4).
    #[arg(long, env = "TUTTI_MODEL_THREADS")]
    pub model_threads: Option<i32>,
    /// Runs this process works on at once.
    #[arg(long, env = "TUTTI_ENGINE_CONCURRENCY", default_value_t = 4)]
    pub engine_concurrency: usize,
    /// Seconds a run's lease lasts without a heartbeat; after that another
    /// process (or this one, restarted) takes the run over.
    #[arg(long, env = "TUTTI_RUN_LEASE_SECS", default_value_t = 30)]
    pub run_lease_secs: u64,
    /// Serve the API only; do not run AI work in this process.
    #[arg(long, env = "TUTTI_NO_ENGINE")]
    pub no_engine: bool,
    /// Where people reach the cockpit (default: http:// and the bind
    /// address). Links in alerts start with it, and an https:// URL marks
    /// the session cookie Secure.
    #[arg(long, env = "TUTTI_PUBLIC_URL")]
    pub public_url: Option<String>,
}

/// How long calls wait on an OpenAI-compatible provider, in seconds; each
/// left out keeps its value (a new provider: its default).
#[derive(Debug, Args)]
pub struct CallLimitArgs {
    /// Until the connection stands (default 5).
    #[arg(long)]
    pub connect_timeout: Option<u32>,
    /// Until the upstream's answer begins (default 20).
    #[arg(long)]
    pub first_byte_timeout: Option<u32>,
    /// Between two pieces of a streamed answer (default 20).
    #[arg(long)]
    pub idle_timeout: Option<u32>,
    /// The whole call, retries included (default 45).
    #[arg(long)]
    pub deadline: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    List,
    Add {
        #[arg(long)]
        name: String,
        /// embedded or openai.
        #[arg(long)]
        kind: String,
        /// For openai: e.g. http://127.0.0.1:8000/v1.
        #[arg(long)]
        base_url: Option<String>,
        /// The server reads the key from this environment variable.
        #[arg(long)]
        api_key_env: Option<String>,
        #[command(flatten)]
        limits: CallLimitArgs,
    },
    /// Change how long calls wait on a provider.
    Limits {
        /// The provider's id.
        provider: Uuid,
        #[command(flatten)]
        limits: CallLimitArgs,
    },
    /// Add a model to a provider, or change its prices.
    Price {
        /// The provider's id.
        provider: Uuid,
        #[arg(long)]
        model: String,
        /// Price per million input tokens, in the org's currency (e.g. 0.15).
        #[arg(long)]
        input: String,
        /// Per million cached input tokens (default: the input price).
        #[arg(long)]
        cached_input: Option<String>,
        /// Per million output tokens.
        #[arg(long)]
        output: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BudgetCommand {
    /// Budgets with their use in the current window.
    List,
    Add {
        #[arg(long)]
        name: String,
        /// org, team, objective or worker.
        #[arg(long)]
        scope: String,
        /// The team, objective or worker the budget is for.
        #[arg(long = "for")]
        scope_id: Option<Uuid>,
        /// month, quarter or lifetime.
        #[arg(long, default_value = "month")]
        period: String,
        #[arg(long)]
        tokens: Option<i64>,
        /// In the org's currency (e.g. 25.50).
        #[arg(long)]
        cost: Option<String>,
        /// Percent of a limit at which the budget warns.
        #[arg(long, default_value_t = 80)]
        warn: i64,
        /// Warn only; never refuse a call.
        #[arg(long)]
        soft: bool,
    },
    /// Deletes a budget; the ledger keeps every entry.
    Delete { id: Uuid },
}

#[derive(Debug, Subcommand)]
pub enum RunCommand {
    List {
        /// queued, running, succeeded, failed or cancelled.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        item: Option<Uuid>,
        #[arg(long)]
        worker: Option<Uuid>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// A run with its work order and output.
    Show {
        id: Uuid,
    },
    /// Queue a run of a work item by its AI assignee.
    Start {
        item: Uuid,
        #[arg(long)]
        max_tokens: Option<i64>,
    },
    /// Print a run's output as it is written, until it ends.
    Watch {
        id: Uuid,
    },
    Cancel {
        id: Uuid,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Review a finished run: accept, revise (with feedback) or reject.
    Add {
        run: Uuid,
        /// accept, revise or reject.
        #[arg(long)]
        verdict: String,
        /// 1 to 5.
        #[arg(long)]
        rating: i64,
        /// What to change (needed for revise); appended to the next work order.
        #[arg(long, default_value = "")]
        feedback: String,
    },
    /// The reviews of a work item.
    List { item: Uuid },
    /// An AI worker's accept, revise and reject rates and mean rating.
    Stats { member: Uuid },
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Settled use, grouped.
    Summary {
        /// worker, team, objective, key_result or model.
        #[arg(long = "by", default_value = "worker")]
        group_by: String,
        /// month, quarter, all, or YYYY-MM.
        #[arg(long, default_value = "month")]
        period: String,
    },
    /// Reserved, settled and released totals, and whether every reservation balances.
    Totals,
    /// The ledger's entries, oldest first.
    Entries {
        #[arg(long)]
        worker: Option<Uuid>,
        #[arg(long)]
        run: Option<Uuid>,
        /// reserve, settle, release or adjust.
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum SpaceCommand {
    List,
    /// A space with its principles and policy.
    Show {
        id: Uuid,
    },
    /// The starter policies; with a name, that policy's source.
    Templates {
        name: Option<String>,
    },
    /// Create a space for a team or an objective.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, conflicts_with = "objective")]
        team: Option<Uuid>,
        #[arg(long)]
        objective: Option<Uuid>,
        /// The Cedar policy, from a file.
        #[arg(long, conflicts_with = "template")]
        policy_file: Option<std::path::PathBuf>,
        /// Or start from a starter policy (see `tutti space templates`).
        #[arg(long)]
        template: Option<String>,
        /// A guard-rail for AI work orders in the space (repeatable).
        #[arg(long = "principle")]
        principles: Vec<String>,
        /// A further decision attribute, as name=long|string|bool (repeatable).
        #[arg(long = "attribute")]
        attributes: Vec<String>,
        #[arg(long, default_value_t = 1)]
        quorum: i64,
        /// How long a decision may wait before it escalates: 90m, 8h, 2d.
        #[arg(long, requires = "escalate_to")]
        escalate_after: Option<String>,
        #[arg(long, requires = "escalate_after")]
        escalate_to: Option<Uuid>,
    },
    /// Change a space; each change is a new version in the audit chain.
    Edit {
        id: Uuid,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        policy_file: Option<std::path::PathBuf>,
        /// Replaces all principles (repeatable).
        #[arg(long = "principle")]
        principles: Vec<String>,
        #[arg(long)]
        quorum: Option<i64>,
    },
    /// The guard-rail checks held against every AI output in the space;
    /// with flags, replaces them (whoever manages the space).
    Guards {
        id: Uuid,
        /// A phrase no output may contain (repeatable).
        #[arg(long = "forbid")]
        forbidden: Vec<String>,
        /// No money amount above this many euros.
        #[arg(long)]
        amount_above: Option<u32>,
        /// A section every output must have (repeatable).
        #[arg(long = "require-section")]
        sections: Vec<String>,
        /// Removes every check.
        #[arg(long, conflicts_with_all = ["forbidden", "amount_above", "sections"])]
        clear: bool,
    },
    /// Delete a space that holds no decisions.
    Delete {
        id: Uuid,
    },
    /// Route a hypothetical decision by the space's policy (or a draft)
    /// without storing it.
    Simulate {
        id: Uuid,
        #[command(flatten)]
        facts: FactsArgs,
        /// The AI worker to route for.
        #[arg(long)]
        assignee: Option<Uuid>,
        /// Also ask whether this member may approve.
        #[arg(long)]
        approver: Option<Uuid>,
        /// Try a draft policy instead of the stored one.
        #[arg(long)]
        policy_file: Option<std::path::PathBuf>,
    },
}

/// What a policy sees of a decision.
#[derive(Debug, Args)]
pub struct FactsArgs {
    /// In the currency's major unit, e.g. 500 or 1234.50.
    #[arg(long)]
    pub amount: String,
    /// Defaults to the org's currency.
    #[arg(long)]
    pub currency: Option<String>,
    /// low, medium or high.
    #[arg(long)]
    pub risk: String,
    /// The decision can be taken back.
    #[arg(long)]
    pub reversible: bool,
    /// The decision touches a customer or a promise to one.
    #[arg(long)]
    pub customer_facing: bool,
    /// A space's attribute as name=value; the value is read as JSON when it
    /// is JSON (5, true, "5"), else as text (repeatable).
    #[arg(long = "attr")]
    pub attributes: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum DecisionCommand {
    List {
        #[arg(long)]
        space: Option<Uuid>,
        /// open, awaiting_approval, escalated, decided or rejected.
        #[arg(long)]
        status: Option<String>,
        /// Only decisions waiting on my vote.
        #[arg(long)]
        awaiting_me: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// A decision with its routing, votes and full trail.
    Show { id: Uuid },
    /// Raise a decision; the space's policy routes it at once.
    Add {
        #[arg(long)]
        space: Uuid,
        #[arg(long)]
        question: String,
        #[arg(long, default_value = "")]
        context: String,
        /// An option (repeat for each, 2 to 10).
        #[arg(long = "option", required = true)]
        options: Vec<String>,
        #[command(flatten)]
        facts: FactsArgs,
        /// The AI worker to decide or prepare it.
        #[arg(long)]
        assignee: Option<Uuid>,
        /// As an AI worker: the option you choose or recommend.
        #[arg(long, requires = "rationale")]
        propose: Option<String>,
        #[arg(long)]
        rationale: Option<String>,
        /// 0 to 1.
        #[arg(long, default_value_t = 0.5)]
        confidence: f64,
    },
    /// As the assigned AI worker: choose or recommend an option.
    Propose {
        id: Uuid,
        #[arg(long)]
        option: String,
        #[arg(long)]
        rationale: String,
        #[arg(long, default_value_t = 0.5)]
        confidence: f64,
    },
    Approve {
        id: Uuid,
        #[arg(long)]
        option: String,
        #[arg(long)]
        reason: String,
    },
    Reject {
        id: Uuid,
        #[arg(long)]
        reason: String,
    },
    /// Looking back: good, bad or unclear.
    Outcome {
        id: Uuid,
        #[arg(long)]
        outcome: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The decision register; --csv for a spreadsheet, --summary for the
    /// account of how recommendations were followed and turned out.
    Register {
        #[arg(long)]
        space: Option<Uuid>,
        #[arg(long, conflicts_with = "summary")]
        csv: bool,
        #[arg(long)]
        summary: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    List,
    Add {
        #[arg(long)]
        name: String,
        /// preventive or reactive.
        #[arg(long)]
        kind: String,
        /// Whom it is for.
        #[arg(long = "for", default_value = "")]
        customer_group: String,
        #[arg(long, default_value = "")]
        description: String,
        /// A promised service level; repeat for several.
        #[arg(long = "level")]
        levels: Vec<String>,
        #[arg(long)]
        owner: Option<Uuid>,
    },
    /// The work that arrived per week, planned and unplanned, with the
    /// reactive share: the org's, a team's or a service product's.
    Load {
        /// How many weeks up to this one (1–104).
        #[arg(long, default_value_t = 12)]
        weeks: u32,
        #[arg(long)]
        team: Option<Uuid>,
        /// A service product's id.
        #[arg(long)]
        service: Option<Uuid>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PromiseCommand {
    List {
        /// open, paused, kept or broken.
        #[arg(long)]
        state: Option<String>,
        /// A service product's id.
        #[arg(long)]
        service: Option<Uuid>,
        /// The keeping team's id.
        #[arg(long)]
        keeper: Option<Uuid>,
        /// Only open and paused promises.
        #[arg(long)]
        unfinished: bool,
    },
    Show {
        id: Uuid,
    },
    Add {
        /// What is promised.
        #[arg(long)]
        title: String,
        #[arg(long)]
        customer: String,
        /// When it is due, RFC 3339 (2026-12-18T16:00:00+01:00).
        #[arg(long)]
        due: String,
        /// The team that makes the promise (one's own).
        #[arg(long)]
        team: Uuid,
        /// The team that must keep it.
        #[arg(long)]
        keeper: Option<Uuid>,
        #[arg(long)]
        service: Option<Uuid>,
        /// The work item it belongs to.
        #[arg(long)]
        case: Option<Uuid>,
    },
    /// The keeping team says whether it can be kept.
    SignOff {
        id: Uuid,
        #[arg(long)]
        not_feasible: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
    Pause {
        id: Uuid,
    },
    Resume {
        id: Uuid,
    },
    Keep {
        id: Uuid,
        #[arg(long)]
        note: Option<String>,
    },
    Break {
        id: Uuid,
        /// Why it broke.
        #[arg(long)]
        note: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum FlowCommand {
    List,
    /// A flow with a gate between each two stages.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// The decision space whose policy decides the gates' verdicts.
        #[arg(long)]
        space: Uuid,
        /// A stage, in order: `Name` or `Name@TEAM_ID`; repeat for each.
        #[arg(long = "stage", required = true)]
        stages: Vec<String>,
    },
    /// A flow with its gates.
    Show {
        id: Uuid,
    },
}

#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// A gate's criteria, their versions and the learnings about it.
    Show { id: Uuid },
    /// Sets a gate's criteria as its next version.
    Criteria {
        id: Uuid,
        /// The version these criteria replace.
        #[arg(long)]
        based_on: i64,
        /// `person:TEXT`, `rule:RULE:TEXT` (promises_signed_off,
        /// no_blocked_work, no_promise_at_risk) or `ai:WORKER_ID:TEXT`;
        /// repeat for each, in order. None clears the gate.
        #[arg(long = "criterion")]
        criteria: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    List {
        #[arg(long)]
        flow: Option<Uuid>,
        /// active, on_hold, killed or completed.
        #[arg(long)]
        status: Option<String>,
    },
    /// Opens a case at its flow's first stage.
    Open {
        #[arg(long)]
        flow: Uuid,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        customer: String,
        /// The work item it rests on.
        #[arg(long)]
        work_item: Option<Uuid>,
    },
    /// A case with the gate ahead and its criteria as judged now.
    Show { id: Uuid },
    /// Checks a criterion of the gate ahead; without --pass or --fail, its
    /// AI worker is asked.
    Check {
        id: Uuid,
        #[arg(long)]
        criterion: String,
        #[arg(long, conflicts_with = "fail")]
        pass: bool,
        #[arg(long)]
        fail: bool,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Proposes a verdict at the gate ahead: go, hold, recycle or kill.
    Verdict {
        id: Uuid,
        verdict: String,
        #[arg(long, default_value = "")]
        reason: String,
        /// Until when a hold lasts, RFC 3339.
        #[arg(long)]
        until: Option<String>,
        /// What to redo, for a recycle.
        #[arg(long, default_value = "")]
        redo: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum LearningCommand {
    List {
        /// open, accepted or declined.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        gate: Option<Uuid>,
    },
    /// Writes down what a stage learned.
    Add {
        /// What happened.
        #[arg(long)]
        title: String,
        /// What to change, and why.
        #[arg(long, default_value = "")]
        body: String,
        #[arg(long)]
        team: Option<Uuid>,
        #[arg(long)]
        promise: Option<Uuid>,
        #[arg(long)]
        gate: Option<Uuid>,
        #[arg(long)]
        service: Option<Uuid>,
        /// Proposes the gate's criteria as they should be (as `tutti gate criteria`).
        #[arg(long = "criterion", conflicts_with = "levels")]
        criteria: Vec<String>,
        /// Proposes the service product's levels as they should be.
        #[arg(long = "level")]
        levels: Vec<String>,
    },
    Accept {
        id: Uuid,
        #[arg(long, default_value = "")]
        answer: String,
    },
    Decline {
        id: Uuid,
        /// Why.
        #[arg(long)]
        answer: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PulseCommand {
    /// The org's surveys: the round open today, whether you are asked and
    /// have answered.
    List {
        #[arg(long)]
        team: Option<Uuid>,
    },
    /// Asks a team (and the teams below it) for its pulse (leads, admins).
    Create(Box<PulseCreate>),
    /// A survey and its questions, numbered.
    Show { id: Uuid },
    /// Answers the round open today, once: one answer per question, in
    /// order; `-` skips one. Your answers are kept without you.
    Answer {
        id: Uuid,
        #[arg(required = true, allow_hyphen_values = true)]
        answers: Vec<String>,
    },
    /// Ends a survey today: the round open today closes today, no round
    /// opens after (leads, admins).
    End { id: Uuid },
    /// A round's results per team (the latest without --round); whatever
    /// stands on too few answers is withheld, with why.
    Results {
        id: Uuid,
        #[arg(long)]
        round: Option<u32>,
    },
    /// The org's k (the fewest answers a figure shows) and load limits;
    /// admins change them with the flags.
    Settings {
        #[arg(long)]
        k: Option<u32>,
        /// Open work a person may carry before counting as overloaded.
        #[arg(long)]
        open: Option<u32>,
        /// Overdue work likewise.
        #[arg(long)]
        overdue: Option<u32>,
        /// Queued runs per slot of an AI worker likewise.
        #[arg(long)]
        queue: Option<u32>,
    },
}

/// A new survey's fields.
#[derive(Debug, clap::Args)]
pub struct PulseCreate {
    /// The team asked (with the teams below it).
    #[arg(long)]
    pub team: Uuid,
    #[arg(long)]
    pub title: String,
    /// The first round's first day (YYYY-MM-DD).
    #[arg(long)]
    pub opens: String,
    /// Its last day.
    #[arg(long)]
    pub closes: String,
    /// once, biweekly or monthly.
    #[arg(long)]
    pub repeat: Option<String>,
    /// A JSON file of questions ([{"kind": "scale", "text": "…"}, …]); the
    /// starter questions without.
    #[arg(long)]
    pub questions: Option<std::path::PathBuf>,
    /// The starter questions' language: de or en.
    #[arg(long)]
    pub lang: Option<String>,
    /// eNPS points a team may fall between rounds before an alert.
    #[arg(long)]
    pub enps_drop: Option<u32>,
    /// Score points (0–10) likewise.
    #[arg(long)]
    pub score_drop: Option<f64>,
}

/// Whose workload.
#[derive(Debug, clap::Args)]
pub struct WorkloadArgs {
    /// A team's id; the whole org without.
    #[arg(long)]
    pub team: Option<Uuid>,
    /// human or ai.
    #[arg(long)]
    pub kind: Option<String>,
    /// Only who could take new work, most room first.
    #[arg(long)]
    pub candidates: bool,
}

#[derive(Debug, Subcommand)]
pub enum RoutineCommand {
    List {
        /// A service product's id: the routines that deliver it.
        #[arg(long)]
        service: Option<Uuid>,
        #[arg(long)]
        team: Option<Uuid>,
        /// A member's id: the routines whose work they carry.
        #[arg(long)]
        assignee: Option<Uuid>,
    },
    /// A routine, the next times it falls due and what became of the last.
    Show { id: Uuid },
    /// Makes a routine: a cadence with its days, or an RFC 5545 rule.
    Add(Box<RoutineAdd>),
    /// Stops it making work until resumed.
    Pause { id: Uuid },
    /// Starts it again; the time it was paused is not caught up.
    Resume { id: Uuid },
}

/// A new routine's fields.
#[derive(Debug, clap::Args)]
pub struct RoutineAdd {
    /// The title of the work it makes.
    #[arg(long)]
    pub name: String,
    /// daily, weekly or monthly.
    #[arg(long, conflicts_with = "rule", required_unless_present = "rule")]
    pub cadence: Option<String>,
    /// Weekdays (mo,tu,… or 1–7) for weekly, days of the month (1–31)
    /// for monthly; comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub days: Vec<String>,
    /// Every N days, weeks or months.
    #[arg(long, default_value_t = 1)]
    pub every: u32,
    /// An RFC 5545 rule instead of a cadence (FREQ=MONTHLY;BYDAY=1MO).
    #[arg(long)]
    pub rule: Option<String>,
    /// The local time it falls due at (07:00).
    #[arg(long)]
    pub at: String,
    /// The first date it may fall on (YYYY-MM-DD); today when absent.
    #[arg(long)]
    pub starts: Option<String>,
    /// The last date it may fall on.
    #[arg(long)]
    pub ends: Option<String>,
    /// An IANA zone; the org's when absent.
    #[arg(long)]
    pub zone: Option<String>,
    /// After downtime: all, latest or none.
    #[arg(long)]
    pub catch_up: Option<String>,
    #[arg(long)]
    pub team: Option<Uuid>,
    /// A person or an AI worker.
    #[arg(long)]
    pub assignee: Option<Uuid>,
    #[arg(long)]
    pub key_result: Option<Uuid>,
    /// A preventive service product's id.
    #[arg(long)]
    pub service: Option<Uuid>,
    #[arg(long)]
    pub priority: Option<String>,
    /// Whom it serves under a contract.
    #[arg(long, default_value = "")]
    pub customer: String,
    #[arg(long, default_value = "")]
    pub description: String,
    /// Make it paused, to start later.
    #[arg(long)]
    pub paused: bool,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// The org: its name, currency and time zone.
    Show,
    /// Sets the IANA time zone the org's times are read in (admins).
    Zone {
        /// Like Europe/Berlin.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    List,
    /// A template's versions, each version's and each author's record, and
    /// whether the two newest can be told apart yet.
    Show {
        id: Uuid,
    },
    /// Writes a template with its first version (admins, leads).
    Add {
        #[arg(long)]
        name: String,
        #[command(flatten)]
        text: TemplateText,
    },
    /// Adds a version; with --side-by-side the newest one stays in use and
    /// new work takes turns between them.
    Version {
        id: Uuid,
        #[command(flatten)]
        text: TemplateText,
        /// What changed.
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long)]
        side_by_side: bool,
    },
    /// Creates work from the template's version whose turn it is.
    Use(Box<TemplateUse>),
}

/// A version's text: the body (placeholders {title}, {details},
/// {key_result}, {objective}, {why}, {team}, {due}) and the acceptance
/// criteria.
#[derive(Debug, Args)]
pub struct TemplateText {
    #[arg(long)]
    pub body: String,
    #[arg(long)]
    pub criteria: String,
}

#[derive(Debug, Args)]
pub struct TemplateUse {
    pub id: Uuid,
    #[arg(long)]
    pub title: String,
    /// Fills {details}.
    #[arg(long, default_value = "")]
    pub details: String,
    #[arg(long)]
    pub team: Option<Uuid>,
    #[arg(long)]
    pub assignee: Option<Uuid>,
    #[arg(long)]
    pub key_result: Option<Uuid>,
    /// Start it ready (an AI assignee starts at once) instead of in the backlog.
    #[arg(long)]
    pub ready: bool,
    /// planned or unplanned.
    #[arg(long)]
    pub kind: Option<String>,
    #[arg(long)]
    pub priority: Option<String>,
    /// YYYY-MM-DD.
    #[arg(long)]
    pub due: Option<String>,
}

#[derive(Debug, Args)]
pub struct CapacityArgs {
    /// The org's cap on AI runs at once, or `none` to lift it (admins).
    #[arg(long)]
    pub org_cap: Option<String>,
    /// The AI worker whose concurrency --concurrency sets (admins).
    #[arg(long, requires = "concurrency")]
    pub worker: Option<Uuid>,
    #[arg(long, requires = "worker")]
    pub concurrency: Option<i64>,
}

#[derive(Debug, clap::Args)]
pub struct LeverageArgs {
    /// `objective`, `team` or `role` (of whoever ordered the work).
    #[arg(long, default_value = "objective", value_parser = ["objective", "team", "role"])]
    pub by: String,
    /// `quarter` (the current one), `month`, `all`, or a month as `YYYY-MM`.
    #[arg(long, default_value = "quarter")]
    pub period: String,
    /// The sheet as CSV on standard output instead of a table.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// The work and AI results behind a key result's check-ins.
    List { key_result: Uuid },
    /// Attaches done work, or an accepted run of it, to a check-in.
    Add {
        check_in: Uuid,
        #[arg(long)]
        work_item: Uuid,
        #[arg(long)]
        run: Option<Uuid>,
    },
}
