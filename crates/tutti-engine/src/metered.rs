//! Metered model calls for external agents (the gateway): which model an AI
//! member may call, the reservation before the call, and the settlement after
//! it, exactly once, whatever way the call ends.

use chrono::{DateTime, Utc};
use tutti_domain::labour::Tokens;
use tutti_llm::{ChatRequest, Chunk, Completion, LlmError};
use tutti_store::prelude::*;
use tutti_store::{Charge, Ctx, StoreError};
use uuid::Uuid;

use crate::Runtime;

/// An open reservation older than this is presumed abandoned, when no live
/// process holds it (see `Runtime::holder`): a crashed holder's reservations
/// are settled as soon as it stops announcing itself.
const RESERVATION_TTL: chrono::Duration = chrono::Duration::minutes(15);

/// The AI member making a call, with the provider and model it runs on.
#[derive(Debug, Clone)]
pub struct Caller {
    pub org_id: Uuid,
    pub member_id: Uuid,
    pub provider: Option<String>,
    pub model: Option<String>,
    /// An external agent: its calls are charged to the run it holds.
    pub external: bool,
    /// The run the agent says the call serves (`X-Tutti-Run`); without
    /// one, the one run it holds, if it holds exactly one.
    pub run_id: Option<Uuid>,
}

/// Why a call was not made.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("this AI member has no provider; set provider and model on the member")]
    NoProvider,
    #[error("this AI member may use the models of its own provider only, not {0}")]
    NotAllowed(String),
    #[error("the model `{0}` does not exist here")]
    UnknownModel(String),
    #[error("{0}")]
    Budget(String),
    #[error(transparent)]
    Model(#[from] LlmError),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::BudgetRefused { message, .. } => Self::Budget(message),
            other => Self::Store(other),
        }
    }
}

/// A call in progress, reserved against the caller's budgets. It settles its
/// reservation once: on its usage record, on an error, or when abandoned.
pub struct MeteredCall<S: Store> {
    store: S,
    ctx: Ctx,
    reservation: Option<Uuid>,
    completion: Completion,
    prompt: i64,
    pieces: i64,
    /// The model's name, as the caller should see it.
    pub model: String,
}

/// Opens a call at `now`: resolves `model` for the caller ("name" of its
/// own provider, "provider/name", or "" / "default" for its own model),
/// reserves the worst case and starts the completion.
pub async fn open<S: Store>(
    store: &S,
    runtime: &Runtime,
    caller: &Caller,
    model: &str,
    request: ChatRequest,
    now: DateTime<Utc>,
) -> Result<MeteredCall<S>, Refusal> {
    let own_provider = caller.provider.clone().ok_or(Refusal::NoProvider)?;
    let (provider_name, model_name) = match model.split_once('/') {
        Some((provider, name)) => (provider.to_owned(), name.to_owned()),
        None if model.is_empty() || model == "default" => (
            own_provider.clone(),
            caller.model.clone().unwrap_or_default(),
        ),
        None => (own_provider.clone(), model.to_owned()),
    };
    if provider_name != own_provider {
        return Err(Refusal::NotAllowed(provider_name));
    }
    let route = store
        .route(caller.org_id, &provider_name, &model_name)
        .await
        .map_err(|_| Refusal::UnknownModel(model.to_owned()))?;
    let provider = runtime.models.provider(&route).await?;
    // A parameter the provider cannot honour is refused before anything is
    // reserved.
    provider.check(&request)?;
    let prompt = i64::try_from(provider.prompt_tokens(&request).await?).unwrap_or(i64::MAX);
    let ctx = Ctx::new(caller.org_id, Some(caller.member_id), now);
    // An agent's call serves the run it holds, and that run's budgets;
    // engine workers' gateway calls (and an agent between claims) serve none.
    let served = if caller.external {
        store
            .agent_call_run(caller.org_id, caller.member_id, caller.run_id)
            .await?
    } else {
        None
    };
    let charge = Charge {
        worker_id: caller.member_id,
        run_id: served.map(|(run, _)| run),
        work_item_id: served.map(|(_, item)| item),
        route_provider: route.provider.clone(),
        route_model: route.model.clone(),
        prices: route.prices,
        input_tokens: prompt,
        max_output_tokens: i64::from(request.max_tokens),
        expires_at: now + RESERVATION_TTL,
        holder: runtime.holder(),
    };
    let reservation = store.reserve(&ctx, charge).await?;
    let completion = provider.chat(request);
    Ok(MeteredCall {
        store: store.clone(),
        ctx,
        reservation: Some(reservation.id),
        completion,
        prompt,
        pieces: 0,
        model: route.model,
    })
}

impl<S: Store> MeteredCall<S> {
    /// The next chunk. On the usage record or an error the reservation is
    /// settled before the chunk is handed on.
    pub async fn next(&mut self) -> Option<Result<Chunk, LlmError>> {
        let chunk = self.completion.next().await;
        match &chunk {
            Some(Ok(Chunk::Text(_) | Chunk::ToolCalls(_))) => self.pieces += 1,
            Some(Ok(Chunk::Done { usage, .. })) => {
                self.settle(crate::tokens_of(usage)).await;
            }
            Some(Err(_)) | None => self.settle(self.used_so_far()).await,
        }
        chunk
    }

    /// Stops the call (the client went away) and settles what was used.
    pub async fn abandon(mut self) {
        let used = self.used_so_far();
        self.settle(used).await;
    }

    /// Without a usage record: nothing if no text came, else the prompt and
    /// the pieces of text seen (about one token each).
    fn used_so_far(&self) -> Tokens {
        if self.pieces == 0 {
            return Tokens::default();
        }
        Tokens {
            input: self.prompt,
            cached_input: 0,
            output: self.pieces,
        }
    }

    async fn settle(&mut self, used: Tokens) {
        if let Some(reservation) = self.reservation.take()
            && let Err(e) = self.store.settle(&self.ctx, reservation, used).await
        {
            // Left open, the reservation is settled at its prompt by recovery.
            tracing::error!(%reservation, "cannot settle a gateway call: {e}");
        }
    }
}

/// A whole answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub text: String,
    /// Whole tool calls, as OpenAI's non-streaming answer gives them.
    pub tool_calls: Vec<serde_json::Value>,
    pub usage: tutti_llm::Usage,
    pub finish: tutti_llm::FinishReason,
}

/// Reads a whole answer: its text and tool calls, usage and why it stopped.
pub async fn complete<S: Store>(mut call: MeteredCall<S>) -> Result<Answer, LlmError> {
    let mut text = String::new();
    let mut pieces = Vec::new();
    while let Some(chunk) = call.next().await {
        match chunk? {
            Chunk::Text(piece) => text.push_str(&piece),
            Chunk::ToolCalls(calls) => pieces.extend(calls),
            Chunk::Done { usage, finish } => {
                return Ok(Answer {
                    text,
                    tool_calls: tutti_llm::join_tool_calls(&pieces),
                    usage,
                    finish,
                });
            }
        }
    }
    Err(LlmError::Engine(
        "the model stream ended without a usage record".into(),
    ))
}
