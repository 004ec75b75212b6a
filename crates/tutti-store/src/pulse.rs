//! The storage contract for the team's voice: pulse surveys, who has
//! answered a round (the ballot) and what was answered (the response), and
//! the org's settings for the pulse and the workload view.
//!
//! - A ballot and its response are written in one transaction, so nobody
//!   answers twice and no answer is lost; but they share nothing a query
//!   could join on: no id, no time, no order (see the migration). The audit
//!   event of an answer has no actor and says only the team and the round.
//!   An answer is never kept for an idempotency key: the key's request hash
//!   would tie the answers to the person.
//! - What a figure may show is `tutti_domain::pulse`'s rule, applied by the
//!   engine to the responses read here.

use std::future::Future;

use chrono::NaiveDate;
use tutti_domain::pulse::{Question, Repeat, Response, Survey, VoiceSettings};
use tutti_domain::workload::Carried;
use uuid::Uuid;

use crate::{Ctx, Page, PageRequest, Result};

/// A new survey, checked by the engine.
#[derive(Debug, Clone)]
pub struct NewSurvey {
    pub team_id: Uuid,
    pub title: String,
    pub questions: Vec<Question>,
    pub opens_on: NaiveDate,
    pub closes_on: NaiveDate,
    pub repeat: Repeat,
    pub enps_drop: u32,
    pub score_drop: f64,
}

/// Who may end a survey, asked of it as it stands inside the transaction
/// that ends it.
pub type MayEndSurvey<'a> = &'a (dyn Fn(&Survey) -> tutti_domain::RuleResult<()> + Sync);

/// Pulse surveys and the workload view. Errors as [`crate::Store`] says.
pub trait Pulse: Clone + Send + Sync + 'static {
    /// The org's *k* and load limits.
    fn voice_settings(&self, org_id: Uuid) -> impl Future<Output = Result<VoiceSettings>> + Send;
    /// Sets them (checked by the engine); audited.
    fn set_voice_settings(
        &self,
        ctx: &Ctx,
        settings: VoiceSettings,
    ) -> impl Future<Output = Result<VoiceSettings>> + Send;
    /// Creates a survey made by the context's actor. `Invalid` for a team
    /// outside the org.
    fn create_survey(
        &self,
        ctx: &Ctx,
        new: NewSurvey,
    ) -> impl Future<Output = Result<Survey>> + Send;
    /// `NotFound` for a survey of another org.
    fn survey(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Survey>> + Send;
    /// Ends a survey on `today` once `may` allows it (`Survey::end`);
    /// audited. `Conflict` when it has ended already.
    fn end_survey(
        &self,
        ctx: &Ctx,
        id: Uuid,
        today: NaiveDate,
        may: MayEndSurvey<'_>,
    ) -> impl Future<Output = Result<Survey>> + Send;
    /// The org's surveys, oldest first; of one team when asked.
    fn surveys(
        &self,
        org_id: Uuid,
        team_id: Option<Uuid>,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Survey>>> + Send;
    /// Records that the context's actor answered `round` (the ballot) and
    /// what they answered (the response, filed under its team), in one
    /// transaction; `Conflict` when they have answered the round already.
    fn answer_pulse(
        &self,
        ctx: &Ctx,
        survey_id: Uuid,
        round: u32,
        response: &Response,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The rounds of a survey `member_id` has answered.
    fn answered_rounds(
        &self,
        survey_id: Uuid,
        member_id: Uuid,
    ) -> impl Future<Output = Result<Vec<u32>>> + Send;
    /// A survey's responses with their round, in the order of their random
    /// keys: an order that says nothing.
    fn responses(
        &self,
        org_id: Uuid,
        survey_id: Uuid,
    ) -> impl Future<Output = Result<Vec<(u32, Response)>>> + Send;
    /// What each member of a team carries (all the org's members without
    /// one), as of `today` in the org's zone: `due soon` is the week ahead.
    fn carried(
        &self,
        org_id: Uuid,
        team_id: Option<Uuid>,
        today: NaiveDate,
    ) -> impl Future<Output = Result<Vec<Carried>>> + Send;
}
