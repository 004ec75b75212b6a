//! External AI workers: agents outside tutti (a coding agent, an in-house
//! bot) that take their runs through the claim protocol instead of the
//! engine.
//!
//! An AI worker marked `external` has its runs queued as any worker's, but
//! no engine runs them: its agent claims one with a lease, keeps the lease
//! alive while it works (reporting progress), and submits the result, which
//! enters the same review as an engine's answer; or it gives the work back
//! with a reason. A lease that runs out returns the run to the queue as an
//! engine's lost lease does (`Run::after_lost_lease`). The rules here say
//! who may claim what, what a held claim is, and what a result and a note
//! must look like; the store applies them under the run's row lock.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Run, RunStatus};
use crate::org::{Member, MemberKind};
use crate::refused::{Denied, Refused, RuleResult};
use crate::validate::{Invalid, ValidationResult, text};

/// The lease owner an agent's claims carry: one per worker, so every
/// session of the same agent sees its own claims, and no engine node (whose
/// names never start so) can take them for its own.
pub fn agent_lease_owner(worker_id: Uuid) -> String {
    format!("agent:{worker_id}")
}

/// Whether a lease owner is an agent's rather than an engine node's.
pub fn is_agent_lease(owner: &str) -> bool {
    owner.starts_with("agent:")
}

/// How long an agent's claim lasts without a heartbeat: 30 s to 1 h, five
/// minutes unless it asks otherwise. Agents think between tool calls, so
/// the engine's 30 s would expire under them; an hour bounds how long a
/// dead agent keeps work from the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentLease(i64);

impl AgentLease {
    pub const MIN_SECS: i64 = 30;
    pub const MAX_SECS: i64 = 3600;
    pub const DEFAULT: AgentLease = AgentLease(300);

    pub fn parse(secs: i64) -> ValidationResult<Self> {
        if (Self::MIN_SECS..=Self::MAX_SECS).contains(&secs) {
            Ok(Self(secs))
        } else {
            Err(Invalid::new(
                "lease_seconds",
                format!(
                    "must be between {} and {} seconds",
                    Self::MIN_SECS,
                    Self::MAX_SECS
                ),
            ))
        }
    }

    pub fn secs(self) -> i64 {
        self.0
    }

    /// When a lease taken or renewed at `now` runs out.
    pub fn until(self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + Duration::seconds(self.0)
    }
}

impl Default for AgentLease {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A run's lease as it stands: who holds it and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub owner: String,
    pub expires_at: DateTime<Utc>,
}

/// Whether `agent` is an AI worker whose runs an agent takes: anything else
/// (a person, an engine-run worker) has no claims to make.
pub fn check_agent(agent: &Member) -> RuleResult<()> {
    if agent.kind != MemberKind::Ai || !agent.external {
        return Err(Refused::Denied(Denied(format!(
            "{} is not an external AI worker; only an AI worker marked external claims work (its runs are not the engine's)",
            agent.name
        ))));
    }
    Ok(())
}

/// Whether `run` is the work of `agent`, an external AI worker: an agent
/// claims and reports only on the work assigned to it.
fn check_own(agent: &Member, run: &Run) -> RuleResult<()> {
    check_agent(agent)?;
    if run.worker_id != agent.id {
        return Err(Refused::Denied(Denied(
            "this run is another worker's; an agent claims and reports only on the work assigned to it"
                .into(),
        )));
    }
    Ok(())
}

/// Whether `agent` may claim `run` (with `lease`, if one is held) at `now`:
/// its own run, queued. A run held by a live lease is refused with when the
/// lease ends; another worker's run is not the agent's to take.
pub fn check_claim(
    agent: &Member,
    run: &Run,
    lease: Option<&Lease>,
    now: DateTime<Utc>,
) -> RuleResult<()> {
    check_own(agent, run)?;
    match run.status {
        RunStatus::Queued => Ok(()),
        RunStatus::Running => Err(Refused::conflict(match lease {
            Some(lease) if lease.expires_at > now => format!(
                "the run is claimed already, until {}; another session of this agent holds it",
                lease.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            _ => "the run's claim has run out and is being returned to the queue; claim it again in a moment".into(),
        })),
        status => Err(Refused::conflict(format!(
            "the run is {status}; there is nothing to claim"
        ))),
    }
}

/// Whether `agent` holds `run` now, to renew its lease, report on it,
/// submit or give it back: running, under the agent's live lease.
pub fn check_holds(
    agent: &Member,
    run: &Run,
    lease: Option<&Lease>,
    now: DateTime<Utc>,
) -> RuleResult<()> {
    check_own(agent, run)?;
    if run.status != RunStatus::Running {
        return Err(Refused::conflict(format!(
            "the run is {}; claim it first (claim_work)",
            run.status
        )));
    }
    match lease {
        Some(lease) if lease.owner == agent_lease_owner(agent.id) && lease.expires_at > now => {
            Ok(())
        }
        Some(lease) if lease.owner == agent_lease_owner(agent.id) => {
            Err(Refused::conflict(format!(
                "your claim ran out at {}; the run goes back to the queue: claim it again",
                lease
                    .expires_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )))
        }
        _ => Err(Refused::conflict(
            "the run is not held by this agent; claim it first (claim_work)",
        )),
    }
}

/// Longest progress note, in characters.
pub const NOTE_MAX: usize = 2_000;
/// Longest result text and attachment, in characters.
pub const RESULT_MAX: usize = 100_000;
/// Longest reason to give work back, in characters.
pub const REASON_MAX: usize = 1_000;
/// Most links and attachments a result carries.
pub const LINKS_MAX: usize = 20;
pub const ATTACHMENTS_MAX: usize = 10;

/// A progress note: 1 to 2 000 characters.
pub fn parse_note(note: &str) -> ValidationResult<String> {
    text("note", note, NOTE_MAX)
}

/// Why an agent gives work back: 1 to 1 000 characters, for the person who
/// picks it up.
pub fn parse_reason(reason: &str) -> ValidationResult<String> {
    text("reason", reason, REASON_MAX)
}

/// A text attached to a result (a file's content, a log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    pub name: String,
    pub text: String,
}

/// What an agent hands in: its answer, links to what it made (a pull
/// request, a document), and texts attached.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AgentResult {
    pub text: String,
    pub links: Vec<String>,
    pub attachments: Vec<Attachment>,
}

impl AgentResult {
    /// Checks every part, naming the one that breaks a rule: the text 1 to
    /// 100 000 characters, up to 20 http(s) links, up to 10 attachments,
    /// each named and at most 100 000 characters.
    pub fn parse(
        text_value: &str,
        links: &[String],
        attachments: &[Attachment],
    ) -> ValidationResult<Self> {
        let text_value = text("text", text_value, RESULT_MAX)?;
        if links.len() > LINKS_MAX {
            return Err(Invalid::new("links", format!("at most {LINKS_MAX} links")));
        }
        let links = links
            .iter()
            .enumerate()
            .map(|(i, link)| {
                let link = link.trim();
                let web = link.starts_with("https://") || link.starts_with("http://");
                if !web || link.len() > 2_000 || link.chars().any(char::is_whitespace) {
                    Err(Invalid::new(
                        format!("links[{i}]"),
                        "must be an http:// or https:// address of at most 2 000 characters",
                    ))
                } else {
                    Ok(link.to_owned())
                }
            })
            .collect::<ValidationResult<Vec<_>>>()?;
        if attachments.len() > ATTACHMENTS_MAX {
            return Err(Invalid::new(
                "attachments",
                format!("at most {ATTACHMENTS_MAX} attachments"),
            ));
        }
        let attachments = attachments
            .iter()
            .enumerate()
            .map(|(i, a)| {
                Ok(Attachment {
                    name: text(&format!("attachments[{i}].name"), &a.name, 200)?,
                    text: text(&format!("attachments[{i}].text"), &a.text, RESULT_MAX)?,
                })
            })
            .collect::<ValidationResult<Vec<_>>>()?;
        Ok(Self {
            text: text_value,
            links,
            attachments,
        })
    }

    /// The run's output as the reviewer reads it: the text, then the links,
    /// then each attachment under its name.
    pub fn render(&self) -> String {
        let mut output = self.text.clone();
        if !self.links.is_empty() {
            output.push_str("\n\nLinks:\n");
            for link in &self.links {
                output.push_str(&format!("- {link}\n"));
            }
            output.truncate(output.trim_end().len());
        }
        for attachment in &self.attachments {
            output.push_str(&format!(
                "\n\n--- {} ---\n{}",
                attachment.name, attachment.text
            ));
        }
        output
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;
    use crate::labour::MaxTokens;
    use crate::org::Role;

    fn now() -> DateTime<Utc> {
        "2026-11-16T08:00:00Z".parse().unwrap()
    }

    fn worker(external: bool) -> Member {
        Member {
            id: Uuid::now_v7(),
            kind: MemberKind::Ai,
            name: "Codex".into(),
            email: None,
            role: Role::Member,
            teams: vec![],
            role_card: None,
            provider: None,
            model: None,
            concurrency: 2,
            external,
            created_at: now(),
        }
    }

    fn run_of(worker: &Member) -> Run {
        Run::queued(
            Uuid::now_v7(),
            Uuid::now_v7(),
            worker,
            1,
            "# Task".into(),
            MaxTokens::DEFAULT,
            now(),
        )
    }

    #[test]
    fn an_agent_claims_its_own_queued_run_only() {
        let agent = worker(true);
        let run = run_of(&agent);
        assert!(check_claim(&agent, &run, None, now()).is_ok());
        let other = worker(true);
        assert!(matches!(
            check_claim(&other, &run, None, now()),
            Err(Refused::Denied(_))
        ));
        let engine_worker = worker(false);
        let engine_run = run_of(&engine_worker);
        assert!(matches!(
            check_claim(&engine_worker, &engine_run, None, now()),
            Err(Refused::Denied(_))
        ));
    }

    #[test]
    fn a_held_run_is_not_claimed_twice_and_says_until_when() {
        let agent = worker(true);
        let mut run = run_of(&agent);
        run.status = RunStatus::Running;
        let lease = Lease {
            owner: agent_lease_owner(agent.id),
            expires_at: now() + Duration::minutes(5),
        };
        let refused = check_claim(&agent, &run, Some(&lease), now()).unwrap_err();
        assert!(
            refused.to_string().contains("2026-11-16T08:05:00Z"),
            "{refused}"
        );
        run.status = RunStatus::Succeeded;
        assert!(matches!(
            check_claim(&agent, &run, None, now()),
            Err(Refused::Conflict(_))
        ));
    }

    #[test]
    fn only_a_live_lease_of_the_agent_holds_the_run() {
        let agent = worker(true);
        let mut run = run_of(&agent);
        assert!(check_holds(&agent, &run, None, now()).is_err(), "queued");
        run.status = RunStatus::Running;
        let mine = Lease {
            owner: agent_lease_owner(agent.id),
            expires_at: now() + Duration::seconds(1),
        };
        assert!(check_holds(&agent, &run, Some(&mine), now()).is_ok());
        let ran_out = check_holds(&agent, &run, Some(&mine), now() + Duration::seconds(1));
        assert!(ran_out.unwrap_err().to_string().contains("ran out"));
        let engines = Lease {
            owner: "node-1".into(),
            expires_at: now() + Duration::minutes(1),
        };
        assert!(check_holds(&agent, &run, Some(&engines), now()).is_err());
        assert!(is_agent_lease(&mine.owner) && !is_agent_lease(&engines.owner));
    }

    #[test]
    fn leases_are_bounded() {
        assert_eq!(AgentLease::parse(30).unwrap().secs(), 30);
        assert!(AgentLease::parse(29).is_err());
        assert!(AgentLease::parse(3601).is_err());
        assert_eq!(
            AgentLease::DEFAULT.until(now()),
            now() + Duration::minutes(5)
        );
    }

    #[test]
    fn a_result_is_checked_part_by_part_and_rendered_for_the_reviewer() {
        let attachment = Attachment {
            name: "angebot.md".into(),
            text: "Position 1".into(),
        };
        let result = AgentResult::parse(
            " Angebot nachgefasst. ",
            &["https://example.org/pr/7".into()],
            std::slice::from_ref(&attachment),
        )
        .unwrap();
        assert_eq!(
            result.render(),
            "Angebot nachgefasst.\n\nLinks:\n- https://example.org/pr/7\n\n--- angebot.md ---\nPosition 1"
        );
        assert_eq!(AgentResult::parse("", &[], &[]).unwrap_err().field, "text");
        assert_eq!(
            AgentResult::parse("ok", &["ftp://x".into()], &[])
                .unwrap_err()
                .field,
            "links[0]"
        );
        let unnamed = Attachment {
            name: " ".into(),
            text: "x".into(),
        };
        assert_eq!(
            AgentResult::parse("ok", &[], &[unnamed]).unwrap_err().field,
            "attachments[0].name"
        );
        assert_eq!(parse_note("").unwrap_err().field, "note");
        assert_eq!(parse_reason(" ").unwrap_err().field, "reason");
    }
}
