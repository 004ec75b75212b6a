//! tutti's orchestration runtime: AI workers doing work.
//!
//! The [`Engine`] claims queued runs from the store with a lease, turns each
//! into a model call on the worker's provider, reserves the call's worst case
//! against every budget first, streams the output to whoever watches
//! ([`Live`]), heartbeats the lease while it works, and settles the ledger when
//! the call ends. A process that dies mid-run simply stops heartbeating: any
//! engine (this one after a restart, or another node) finds the expired lease
//! and queues the run again or fails it with its reason.
//!
//! [`Models`] holds the providers, so the gateway and the engine share one
//! loaded embedded model.

pub mod agents;
pub mod clock;
pub mod decisions;
pub mod directory;
mod error;
pub mod flows;
pub mod labour;
pub mod metered;
pub mod pulse;
pub mod routines;
pub mod service;
pub mod signals;
pub mod strategy;
pub mod transfer;
pub mod work;
pub mod workforce;
pub mod workload;

pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{EngineError, EngineResult};

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, OnceCell, Semaphore, broadcast};
use tutti_domain::labour::{ProviderKind, RunStatus, Tokens};
use tutti_llm::{
    ChatRequest, Chunk, EmbeddedConfig, EmbeddedModel, LlmError, Message, OpenAiConfig,
    OpenAiProvider, Provider, Speaker,
};
use tutti_store::prelude::*;
use tutti_store::{Charge, ClaimedRun, EngineNode, LeaseState, ModelRoute, RunEnd, StoreError};
use uuid::Uuid;

/// The model providers of this process, created on first use and shared.
pub struct Models {
    embedded_config: Option<EmbeddedConfig>,
    embedded: OnceCell<Arc<EmbeddedModel>>,
    remote: Mutex<HashMap<RemoteKey, Arc<OpenAiProvider>>>,
}

/// A remote provider is made once per endpoint, model, key and limits (a
/// change of limits takes effect with the next call).
type RemoteKey = (
    String,
    String,
    Option<String>,
    tutti_domain::labour::CallLimits,
);

impl Models {
    /// `embedded`: where the embedded model is, or `None` to run without one.
    pub fn new(embedded: Option<EmbeddedConfig>) -> Self {
        Self {
            embedded_config: embedded,
            embedded: OnceCell::new(),
            remote: Mutex::new(HashMap::new()),
        }
    }

    /// Whether this process can run work on the embedded model: it is
    /// loaded, or its file is there to load.
    pub fn has_embedded(&self) -> bool {
        self.embedded.initialized()
            || self
                .embedded_config
                .as_ref()
                .is_some_and(|config| config.model_path.is_file())
    }

    /// The provider a route names. The embedded model is loaded on first use
    /// (off the async executor); a remote provider is made once per endpoint,
    /// model and key.
    pub async fn provider(&self, route: &ModelRoute) -> Result<Arc<dyn Provider>, LlmError> {
        match route.kind {
            ProviderKind::Embedded => {
                let config = self.embedded_config.clone().ok_or_else(|| {
                    LlmError::ModelUnavailable(
                        "this process runs without the embedded model (start it with a model path)"
                            .into(),
                    )
                })?;
                let model = self
                    .embedded
                    .get_or_try_init(|| async move {
                        tokio::task::spawn_blocking(move || EmbeddedModel::load(config))
                            .await
                            .map_err(|e| LlmError::Engine(format!("model loader stopped: {e}")))?
                            .map(Arc::new)
                    })
                    .await?;
                Ok(model.clone())
            }
            ProviderKind::Openai => {
                let base_url = route.base_url.clone().ok_or_else(|| {
                    LlmError::Invalid(format!("provider {} has no base_url", route.provider))
                })?;
                let key = match (&route.api_key, &route.api_key_env) {
                    (Some(key), _) => Some(key.clone()),
                    (None, Some(var)) => Some(std::env::var(var).map_err(|_| {
                        LlmError::Invalid(format!(
                            "provider {} reads its key from the environment variable {var}, which is not set",
                            route.provider
                        ))
                    })?),
                    (None, None) => None,
                };
                let cache_key = (
                    base_url.clone(),
                    route.model.clone(),
                    key.clone(),
                    route.limits,
                );
                let mut remote = self
                    .remote
                    .lock()
                    .map_err(|_| LlmError::Engine("provider cache poisoned".into()))?;
                if let Some(provider) = remote.get(&cache_key) {
                    return Ok(provider.clone());
                }
                let mut config = OpenAiConfig::new(base_url, route.model.clone());
                config.api_key = key;
                config.bound_by(&route.limits);
                let provider = Arc::new(OpenAiProvider::new(config)?);
                remote.insert(cache_key, provider.clone());
                Ok(provider)
            }
        }
    }
}

/// What a watcher of a run receives.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    Text(String),
    End(RunStatus),
}

struct LiveRun {
    text: String,
    events: broadcast::Sender<LiveEvent>,
}

/// The output of the runs this process is running, for streaming to clients.
#[derive(Default)]
pub struct Live {
    runs: Mutex<HashMap<Uuid, LiveRun>>,
}

impl Live {
    fn start(&self, id: Uuid) {
        if let Ok(mut runs) = self.runs.lock() {
            runs.insert(
                id,
                LiveRun {
                    text: String::new(),
                    events: broadcast::channel(1024).0,
                },
            );
        }
    }

    fn push(&self, id: Uuid, piece: &str) {
        if let Ok(mut runs) = self.runs.lock()
            && let Some(run) = runs.get_mut(&id)
        {
            run.text.push_str(piece);
            let _ = run.events.send(LiveEvent::Text(piece.to_owned()));
        }
    }

    fn end(&self, id: Uuid, status: RunStatus) {
        if let Ok(mut runs) = self.runs.lock()
            && let Some(run) = runs.remove(&id)
        {
            let _ = run.events.send(LiveEvent::End(status));
        }
    }

    /// The text so far and the events from here on, if the run is running in
    /// this process.
    pub fn subscribe(&self, id: Uuid) -> Option<(String, broadcast::Receiver<LiveEvent>)> {
        let runs = self.runs.lock().ok()?;
        runs.get(&id)
            .map(|run| (run.text.clone(), run.events.subscribe()))
    }
}

/// What the engine, the gateway and the API share.
pub struct Runtime {
    pub models: Models,
    pub live: Live,
    pub policies: decisions::PolicyCache,
    /// Judged objective forests, reused until the org changes.
    pub rollups: strategy::RollupCache,
    /// Where the engine's time comes from.
    pub clock: Arc<dyn Clock>,
    /// This process's name on the leases and reservations it holds.
    pub node: String,
    /// Whether this process's engine has announced itself, so that other
    /// processes can tell it is alive.
    announced: AtomicBool,
    wake: Notify,
}

impl Runtime {
    /// A runtime on the wall clock.
    pub fn new(models: Models) -> Arc<Self> {
        Self::with_clock(models, Arc::new(SystemClock))
    }

    /// A runtime whose engine reads the time from `clock`.
    pub fn with_clock(models: Models, clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Self {
            models,
            live: Live::default(),
            policies: decisions::PolicyCache::default(),
            rollups: strategy::RollupCache::default(),
            clock,
            node: format!(
                "node-{}-{}",
                std::process::id(),
                &Uuid::now_v7().simple().to_string()[20..]
            ),
            announced: AtomicBool::new(false),
            wake: Notify::new(),
        })
    }

    /// Who holds a gateway call's reservation: this process, once its engine
    /// announces itself (then its reservations are settled as soon as it
    /// stops, crashed or not); `None` for a process without an engine, whose
    /// reservations wait for their expiry.
    pub fn holder(&self) -> Option<String> {
        self.announced
            .load(Ordering::Acquire)
            .then(|| self.node.clone())
    }

    /// Tells the engine there may be work (a run was queued).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How long a lease lasts without a heartbeat.
    pub lease: Duration,
    pub heartbeat: Duration,
    /// How often to look for work when nobody wakes the engine.
    pub poll: Duration,
    /// Runs this process works on at once (each worker's own limit applies too).
    pub concurrency: usize,
    /// How often each org's signals are evaluated.
    pub signal_every: Duration,
    pub signal_rules: tutti_domain::signal::SignalRules,
    /// Where people reach the cockpit: the base of the links in alerts.
    pub public_url: String,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(2),
            poll: Duration::from_secs(1),
            concurrency: 4,
            signal_every: Duration::from_secs(60),
            signal_rules: tutti_domain::signal::SignalRules::default(),
            public_url: "http://127.0.0.1:8080".into(),
        }
    }
}

/// The dispatcher: claims runs and works them.
pub struct Engine<S> {
    store: S,
    runtime: Arc<Runtime>,
    config: EngineConfig,
    webhooks: reqwest::Client,
}

impl<S: Store> Engine<S> {
    pub fn new(store: S, runtime: Arc<Runtime>, config: EngineConfig) -> Self {
        // A webhook endpoint that hangs must not hold the engine's loop.
        let webhooks = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            store,
            runtime,
            config,
            webhooks,
        }
    }

    /// Runs until the task is dropped.
    pub async fn run(self) {
        let this = Arc::new(self);
        let slots = Arc::new(Semaphore::new(this.config.concurrency.max(1)));
        let mut last_recovery: Option<std::time::Instant> = None;
        let mut last_signals: Option<std::time::Instant> = None;
        tracing::info!(node = %this.runtime.node, "engine started");
        loop {
            if last_recovery.is_none_or(|at| at.elapsed() >= this.config.heartbeat) {
                this.announce().await;
                match this.store.recover(this.runtime.clock.now()).await {
                    Ok((0, 0)) => {}
                    Ok((runs, calls)) => {
                        tracing::warn!(runs, calls, "recovered work of a lost process")
                    }
                    Err(e) => tracing::warn!("recovery failed: {e}"),
                }
                if let Err(e) = decisions::escalate_overdue(
                    &this.store,
                    &this.runtime.policies,
                    this.runtime.clock.now(),
                )
                .await
                {
                    tracing::warn!("cannot escalate overdue decisions: {e}");
                }
                if let Err(e) =
                    routines::fire_due(&this.store, &this.runtime, this.runtime.clock.now()).await
                {
                    tracing::warn!("cannot fire routines: {e}");
                }
                this.draft_decisions().await;
                this.check_criteria().await;
                if let Err(e) = signals::deliver_due(
                    &this.store,
                    &this.webhooks,
                    &this.config.public_url,
                    this.runtime.clock.as_ref(),
                )
                .await
                {
                    tracing::warn!("cannot deliver alerts: {e}");
                }
                last_recovery = Some(std::time::Instant::now());
            }
            if last_signals.is_none_or(|at| at.elapsed() >= this.config.signal_every) {
                this.refresh_signals().await;
                last_signals = Some(std::time::Instant::now());
            }
            while let Ok(slot) = slots.clone().try_acquire_owned() {
                let now = this.runtime.clock.now();
                let lease_until =
                    now + chrono::Duration::from_std(this.config.lease).unwrap_or_default();
                match this.store.claim_run(&this.node(), now, lease_until).await {
                    Ok(Some(claimed)) => {
                        let this = this.clone();
                        tokio::spawn(async move {
                            this.execute(claimed).await;
                            drop(slot);
                            this.runtime.wake();
                        });
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!("cannot claim runs: {e}");
                        break;
                    }
                }
            }
            tokio::select! {
                () = this.runtime.wake.notified() => {}
                () = tokio::time::sleep(this.config.poll) => {}
            }
        }
    }

    /// This process as the queues see it.
    fn node(&self) -> EngineNode {
        EngineNode {
            name: self.runtime.node.clone(),
            embedded_model: self.runtime.models.has_embedded(),
        }
    }

    /// Tells other processes that this one is alive and whether it has the
    /// embedded model, for a few heartbeats.
    async fn announce(&self) {
        let now = self.runtime.clock.now();
        let seen_until =
            now + chrono::Duration::from_std(self.config.heartbeat * 3).unwrap_or_default();
        if let Err(e) = self
            .store
            .announce_node(&self.node(), now, seen_until)
            .await
        {
            tracing::warn!("cannot announce this engine: {e}");
        } else {
            self.runtime.announced.store(true, Ordering::Release);
        }
    }

    /// Has AI workers propose for the decisions people asked them to
    /// prepare or decide, each in a task of its own.
    async fn draft_decisions(self: &Arc<Self>) {
        let limit = i64::try_from(self.config.concurrency.max(1)).unwrap_or(1);
        let drafts = match decisions::claim_drafts(
            &self.store,
            &self.node(),
            self.runtime.clock.now(),
            limit,
        )
        .await
        {
            Ok(drafts) => drafts,
            Err(e) => return tracing::warn!("cannot claim decisions to draft: {e}"),
        };
        for draft in drafts {
            let this = self.clone();
            tokio::spawn(async move {
                let id = draft.decision.id;
                match decisions::draft(&this.store, &this.runtime, draft).await {
                    Ok(_) => {}
                    // Someone acted on the decision while the worker drafted
                    // (an escalation, a rejection): the draft has no place left.
                    Err(EngineError::Conflict(why)) => {
                        tracing::info!(decision = %id, "draft dropped, the decision moved on: {why}");
                    }
                    Err(e) => {
                        tracing::warn!(decision = %id, "cannot store the draft: {e}; it is drafted again once the claim lapses");
                    }
                }
            });
        }
    }

    /// Has AI workers check the gate criteria people asked them to, each in
    /// a task of its own.
    async fn check_criteria(self: &Arc<Self>) {
        let limit = i64::try_from(self.config.concurrency.max(1)).unwrap_or(1);
        let claimed =
            match flows::claim_checks(&self.store, &self.node(), self.runtime.clock.now(), limit)
                .await
            {
                Ok(claimed) => claimed,
                Err(e) => return tracing::warn!("cannot claim criteria to check: {e}"),
            };
        for check in claimed {
            let this = self.clone();
            tokio::spawn(async move {
                let id = check.check.id;
                match flows::run_check(&this.store, &this.runtime, check).await {
                    Ok(_) => {}
                    Err(EngineError::Conflict(why)) => {
                        tracing::info!(check = %id, "check dropped: {why}");
                    }
                    Err(e) => {
                        tracing::warn!(check = %id, "cannot store the check: {e}; it is tried again once the claim lapses");
                    }
                }
            });
        }
    }

    /// Brings every org's alerts in step with its signals.
    async fn refresh_signals(&self) {
        let orgs = match self.store.orgs().await {
            Ok(orgs) => orgs,
            Err(e) => return tracing::warn!("cannot list orgs for signals: {e}"),
        };
        for org in orgs {
            match signals::refresh(
                &self.store,
                &self.runtime.policies,
                org.id,
                self.runtime.clock.now(),
                self.config.signal_rules,
                tutti_domain::strategy::RiskRule::default(),
            )
            .await
            {
                Ok(sync) if !sync.raised.is_empty() || sync.cleared > 0 => {
                    tracing::info!(org = %org.id, raised = sync.raised.len(), cleared = sync.cleared, "alerts changed");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(org = %org.id, "cannot evaluate signals: {e}"),
            }
        }
    }

    async fn execute(&self, claimed: ClaimedRun) {
        let id = claimed.run.id;
        tracing::info!(run = %id, worker = %claimed.run.worker_id, model = %claimed.route.model, "run started");
        self.runtime.live.start(id);
        let status = match self.drive(claimed).await {
            Some(end) => match self
                .store
                .end_run(id, &self.runtime.node, self.runtime.clock.now(), end)
                .await
            {
                Ok(run) => run.status,
                Err(e) => {
                    tracing::warn!(run = %id, "cannot record the end of the run: {e}; its lease will expire and it will be retried");
                    RunStatus::Queued
                }
            },
            None => RunStatus::Queued,
        };
        tracing::info!(run = %id, %status, "run ended");
        self.runtime.live.end(id, status);
    }

    /// Does the work of one attempt; `None` when the lease was lost, in which
    /// case whoever holds it now owns the outcome.
    async fn drive(&self, claimed: ClaimedRun) -> Option<RunEnd> {
        let ClaimedRun { run, route, .. } = claimed;
        let failed = |error: String, output: String, used: Tokens| {
            Some(RunEnd::Failed {
                output,
                used,
                error,
            })
        };
        let provider = match self.runtime.models.provider(&route).await {
            Ok(provider) => provider,
            Err(e) => return failed(e.to_string(), String::new(), Tokens::default()),
        };
        let messages = vec![
            Message::new(Speaker::System, run.role_card.clone()),
            Message::new(Speaker::User, run.work_order.clone()),
        ];
        let max_tokens = u32::try_from(run.max_tokens).unwrap_or(u32::MAX);
        let mut request = ChatRequest::new(messages, max_tokens);
        request.repetition = tutti_llm::Repetition::RUNS;
        let input = match provider.prompt_tokens(&request).await {
            Ok(tokens) => i64::try_from(tokens).unwrap_or(i64::MAX),
            Err(e) => return failed(e.to_string(), String::new(), Tokens::default()),
        };
        let charge = Charge {
            worker_id: run.worker_id,
            run_id: Some(run.id),
            work_item_id: None,
            route_provider: route.provider.clone(),
            route_model: route.model.clone(),
            prices: route.prices,
            input_tokens: input,
            max_output_tokens: run.max_tokens,
            expires_at: self.runtime.clock.now(),
            holder: Some(self.runtime.node.clone()),
        };
        match self
            .store
            .reserve_for_run(run.id, &self.runtime.node, self.runtime.clock.now(), charge)
            .await
        {
            Ok(_) => {}
            Err(StoreError::BudgetRefused { message, .. }) => {
                return failed(message, String::new(), Tokens::default());
            }
            Err(StoreError::Conflict(_)) => return None,
            Err(e) => {
                return failed(
                    format!("cannot reserve the call: {e}"),
                    String::new(),
                    Tokens::default(),
                );
            }
        }
        let mut completion = provider.chat(request);
        let mut output = String::new();
        let mut seen = 0i64;
        let used = |seen: i64| Tokens {
            input,
            cached_input: 0,
            output: seen,
        };
        let mut beat = tokio::time::interval(self.config.heartbeat);
        beat.tick().await;
        loop {
            tokio::select! {
                chunk = completion.next() => match chunk {
                    Some(Ok(Chunk::Text(piece))) => {
                        seen += 1;
                        output.push_str(&piece);
                        self.runtime.live.push(run.id, &piece);
                        // A loop is looked for every few pieces; dropping the
                        // completion stops the model spending more on it.
                        if seen % LOOP_CHECK_EVERY == 0
                            && let Some(found) = tutti_domain::labour::output::looping_tail(&output)
                        {
                            drop(completion);
                            return failed(found.explain(), output, used(seen));
                        }
                    }
                    // A run's work order offers no tools; an upstream that
                    // calls one anyway has produced no text to deliver.
                    Some(Ok(Chunk::ToolCalls(_))) => seen += 1,
                    Some(Ok(Chunk::Done { usage, .. })) => {
                        return Some(RunEnd::Succeeded { output, used: tokens_of(&usage) });
                    }
                    Some(Err(e)) => return failed(e.to_string(), output, used(seen)),
                    None => return failed("the model stream ended without a usage record".into(), output, used(seen)),
                },
                _ = beat.tick() => {
                    let lease_until = self.runtime.clock.now() + chrono::Duration::from_std(self.config.lease).unwrap_or_default();
                    match self.store.heartbeat(run.id, &self.runtime.node, lease_until, &output, used(seen)).await {
                        Ok(LeaseState::Held) => {}
                        Ok(LeaseState::CancelRequested) => return Some(RunEnd::Cancelled { output, used: used(seen) }),
                        Ok(LeaseState::Lost) => {
                            tracing::warn!(run = %run.id, "lease lost; stopping without writing");
                            return None;
                        }
                        Err(e) => tracing::warn!(run = %run.id, "heartbeat failed: {e}"),
                    }
                }
            }
        }
    }
}

/// How many pieces of an answer pass between two looks for a loop.
const LOOP_CHECK_EVERY: i64 = 8;

/// A provider's usage record as ledger tokens.
pub(crate) fn tokens_of(usage: &tutti_llm::Usage) -> Tokens {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    Tokens {
        input: n(usage.input_tokens),
        cached_input: n(usage.cached_input_tokens),
        output: n(usage.output_tokens),
    }
}
