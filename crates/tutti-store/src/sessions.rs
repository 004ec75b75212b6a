//! The storage contract for the cockpit's sign-in: people's passwords and
//! languages, and browser sessions.
//!
//! Sessions are kept like API tokens: only the SHA-256 of the cookie's random
//! token is stored, so a stolen database opens no browser session. Password
//! hashes are argon2 strings made by the caller; the store never sees a
//! password. Setting passwords and starting and ending sessions are audited
//! in the same transaction as the change.

use std::future::Future;

use chrono::{DateTime, Utc};
use tutti_domain::access::Actor;
use tutti_domain::validate::Email;
use uuid::Uuid;

use crate::{Ctx, Result};

/// A person's stored password hash, found by email for signing in.
#[derive(Debug, Clone)]
pub struct Credential {
    pub org_id: Uuid,
    pub member_id: Uuid,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_hash: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// A live session: who it is, the form token it was given, their language.
#[derive(Debug, Clone)]
pub struct Session {
    pub actor: Actor,
    pub name: String,
    pub csrf_token: String,
    pub locale: Option<String>,
    /// The person's own IANA zone; `None` follows the org's.
    pub time_zone: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// Passwords, languages and sessions. Errors as [`crate::Store`] says.
pub trait Sessions: Clone + Send + Sync + 'static {
    /// Stores a person's password hash and ends their sessions. `Invalid`
    /// for an AI member, which cannot have a password; `NotFound` for a
    /// member of another org.
    fn set_password(
        &self,
        ctx: &Ctx,
        member_id: Uuid,
        password_hash: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Sets (or with `None` clears) a member's language. `Invalid` for a
    /// language the cockpit does not speak.
    fn set_locale(
        &self,
        ctx: &Ctx,
        member_id: Uuid,
        locale: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Sets (or with `None` clears, to follow the org's) the zone a person
    /// reads times in; the name is checked by the caller.
    fn set_member_time_zone(
        &self,
        ctx: &Ctx,
        member_id: Uuid,
        time_zone: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// A person's own zone, if they set one.
    fn member_time_zone(
        &self,
        org_id: Uuid,
        member_id: Uuid,
    ) -> impl Future<Output = Result<Option<String>>> + Send;
    /// The password hashes of the people with that email, in every org.
    fn credentials(&self, email: &Email) -> impl Future<Output = Result<Vec<Credential>>> + Send;
    /// Starts a session for the context's actor.
    fn create_session(
        &self,
        ctx: &Ctx,
        session: NewSession,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The session a token hash belongs to, if it has not expired at `now`.
    fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Session>>> + Send;
    /// Ends a session (signing out); unknown hashes are fine.
    fn end_session(&self, ctx: &Ctx, token_hash: &str) -> impl Future<Output = Result<()>> + Send;
    /// Records in the audit chain that a sign-in as `member_id` was refused
    /// (a wrong password, or `throttled`: too many before it).
    fn sign_in_refused(
        &self,
        ctx: &Ctx,
        member_id: Uuid,
        throttled: bool,
    ) -> impl Future<Output = Result<()>> + Send;
}
