//! The storage contract for model providers: where an org's models run, what
//! they cost, and how a caller reaches its model.
//!
//! A provider's key may be kept in the store; it is never returned by a read
//! other than [`Providers::route`], which is for the engine only.

use std::future::Future;

use tutti_domain::labour::{CallLimits, LimitsPatch, Model, Prices, Provider, ProviderKind};
use tutti_domain::org::MemberKind;
use uuid::Uuid;

use crate::{Ctx, Result};

#[derive(Debug, Clone)]
pub struct NewProvider {
    pub name: String,
    pub kind: ProviderKind,
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
    pub api_key: Option<String>,
    /// How long calls wait on it (for `openai` providers).
    pub limits: CallLimits,
}

#[derive(Debug, Clone)]
pub struct NewModel {
    pub name: String,
    pub prices: Prices,
}

/// How to reach a model, with its key: for the engine only, never rendered.
#[derive(Clone)]
pub struct ModelRoute {
    pub provider: String,
    pub kind: ProviderKind,
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
    pub api_key: Option<String>,
    pub model: String,
    pub prices: Prices,
    pub limits: CallLimits,
}

impl std::fmt::Debug for ModelRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelRoute")
            .field("provider", &self.provider)
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// The member behind an API token and the model it runs on: what the
/// gateway needs to know of its caller, read in one statement per call.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenHolder {
    pub org_id: Uuid,
    pub member_id: Uuid,
    pub kind: MemberKind,
    pub provider: Option<String>,
    pub model: Option<String>,
    /// An AI worker whose runs an agent outside tutti claims: its calls
    /// are charged to the run it holds.
    pub external: bool,
}

/// Providers, their models and prices. Errors as [`crate::Store`] says.
pub trait Providers: Clone + Send + Sync + 'static {
    /// `Invalid` for a bad name, an `openai` provider without an http(s)
    /// base URL, an `embedded` one with a URL or key, or a malformed
    /// environment variable name; `Conflict` for a taken name.
    fn create_provider(
        &self,
        ctx: &Ctx,
        provider: NewProvider,
    ) -> impl Future<Output = Result<Provider>> + Send;
    /// Changes how long calls wait on a provider (audited). `NotFound` for a
    /// provider of another org; `Invalid` for limits that break
    /// `CallLimits::checked`.
    fn update_limits(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: LimitsPatch,
    ) -> impl Future<Output = Result<Provider>> + Send;
    /// The org's providers with their models; keys are never included.
    fn providers(&self, org_id: Uuid) -> impl Future<Output = Result<Vec<Provider>>> + Send;
    /// Adds a model to a provider, or changes its prices. `NotFound` for a
    /// provider of another org; `Invalid` for a negative price.
    fn put_model(
        &self,
        ctx: &Ctx,
        provider_id: Uuid,
        model: NewModel,
    ) -> impl Future<Output = Result<Model>> + Send;
    /// How to reach a model of the org, by `provider` and `model` name.
    /// `Invalid` naming `model` when the org has no such model.
    fn route(
        &self,
        org_id: Uuid,
        provider: &str,
        model: &str,
    ) -> impl Future<Output = Result<ModelRoute>> + Send;
    /// The member a token hash belongs to with its provider and model, or
    /// `None` for an unknown token.
    fn token_holder(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<TokenHolder>>> + Send;
    /// Every model of the org, as `(provider, model)`.
    fn models(&self, org_id: Uuid) -> impl Future<Output = Result<Vec<(String, Model)>>> + Send;
}
