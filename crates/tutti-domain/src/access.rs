//! Who may do what. One place decides, so the API, the CLI (through the API) and
//! later the cockpit apply exactly the same rules.
//!
//! - a viewer reads;
//! - a member writes their own work: creates items for themselves or unassigned,
//!   changes items assigned to or created by them, checks in on key results of
//!   objectives they own or their teams hold;
//! - only a person accepts, closes or cancels work: an AI worker hands its work
//!   in for review and never moves it on from there, never marks work done and
//!   never cancels it, whatever its role;
//! - a lead manages the teams they lead (and the teams below them): objectives,
//!   key results, any work there, sub-teams;
//! - an admin manages the org; only an owner can make another owner.
//!
//! AI workers act with the role they hold, which is at most `member`.

use uuid::Uuid;

use crate::org::{MemberKind, Role};
use crate::work::WorkState;

/// The authenticated member a request acts for, with the teams that matter for
/// the rules above.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub org_id: Uuid,
    pub member_id: Uuid,
    pub kind: MemberKind,
    pub role: Role,
    /// Teams the member belongs to.
    pub teams: Vec<Uuid>,
    /// Teams the member leads, with every team below them.
    pub led_teams: Vec<Uuid>,
}

/// Where a piece of strategy or work sits, as far as access is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scope {
    pub team_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    Read,
    CreateTeam {
        parent_id: Option<Uuid>,
    },
    ManageTeam {
        team_id: Uuid,
    },
    CreateMember {
        role: Role,
    },
    ManageMember {
        role: Role,
    },
    CreateToken {
        for_member: Uuid,
    },
    WriteObjective(Scope),
    CheckIn(Scope),
    CreateWork {
        team_id: Option<Uuid>,
        assignee_id: Option<Uuid>,
    },
    UpdateWork {
        team_id: Option<Uuid>,
        assignee_id: Option<Uuid>,
        created_by: Uuid,
    },
    /// Moving a work item from one state to another: the rights of
    /// [`Action::UpdateWork`], and only a person closes delivered work.
    MoveWork {
        team_id: Option<Uuid>,
        assignee_id: Option<Uuid>,
        created_by: Uuid,
        from: WorkState,
        to: WorkState,
    },
    ReadAudit,
    /// Org-wide structure: who leads a team, where a team hangs.
    ManageOrg,
    /// Model providers, their keys and prices.
    ManageProviders,
    /// The org's settings: its time zone.
    ManageOrgSettings,
    /// A budget on the org, a team, an objective or a worker; `team_id` is
    /// the team a team budget is for.
    ManageBudget {
        team_id: Option<Uuid>,
    },
    /// A verdict on an AI worker's run of a work item.
    Review {
        team_id: Option<Uuid>,
        created_by: Uuid,
    },
    /// A decision space scoped to `team_id` (the team of its objective for an
    /// objective's space; `None` for a space without a team).
    ManageSpace {
        team_id: Option<Uuid>,
    },
    /// Raising a decision in a space, proposing for it, voting on it.
    RequestDecision,
    /// Looking back on a decided decision: people only — whoever asked for
    /// it or voted on it (`involved`), or whoever manages its space (whose
    /// team is `space_team`).
    ReviewOutcome {
        involved: bool,
        space_team: Option<Uuid>,
    },
    /// The service catalogue: admins and leads.
    ManageServices,
    /// Asking a team for its pulse and reading what it said (never who):
    /// admins and the team's leads, people only.
    RunPulse {
        team_id: Uuid,
    },
    /// Answering a pulse: people only; an AI worker is never asked.
    AnswerPulse,
    /// Writing the org's work-order templates: admins and leads, people
    /// only (how AI work is asked for is a leader's task).
    ManageTemplates,
    /// Making a promise to a customer on behalf of `team_id` (the stage
    /// that makes it): people of that team, its lead, admins.
    MakePromise {
        team_id: Option<Uuid>,
    },
    /// Saying whether a promise can be kept: people of the keeping stage,
    /// its lead, admins.
    SignOffPromise {
        keeper_team_id: Option<Uuid>,
    },
    /// Pausing, keeping or breaking a promise: people of the keeping
    /// stage, its lead, whoever made the promise, admins.
    KeepPromise {
        keeper_team_id: Option<Uuid>,
        promised_by: Uuid,
    },
    /// Shaping flows, their stages and their gates' criteria, and answering
    /// learnings about gates: admins and leads.
    ManageFlows,
    /// Opening a case at a flow's first stage, on behalf of that stage's
    /// team (`None` for a stage without a team: any member).
    OpenCase {
        team_id: Option<Uuid>,
    },
    /// Checking a gate's criterion, or asking its AI worker to: the stage
    /// the case goes on to (`receiving_team_id`; any member when it has no
    /// team), its lead, admins — the seed's "Wer sichert ab".
    CheckCriterion {
        receiving_team_id: Option<Uuid>,
    },
    /// Writing down what a stage learned.
    WriteLearning,
}

// Kept with the other refusals, so that every rule can refuse without
// depending on who may do what.
pub use crate::refused::Denied;

impl Actor {
    fn leads(&self, team: Option<Uuid>) -> bool {
        team.is_some_and(|t| self.led_teams.contains(&t))
    }

    fn belongs_to(&self, team: Option<Uuid>) -> bool {
        team.is_some_and(|t| self.teams.contains(&t) || self.led_teams.contains(&t))
    }

    fn is_admin(&self) -> bool {
        self.role.at_least(Role::Admin)
    }

    /// Decides whether this actor may take `action`.
    pub fn may(&self, action: Action) -> Result<(), Denied> {
        let deny = |why: &str| Err(Denied(why.to_owned()));
        if action == Action::Read {
            return Ok(());
        }
        if self.role == Role::Viewer {
            return deny("viewers can read but not change anything");
        }
        if self.kind == MemberKind::Ai && matches!(action, Action::Review { .. }) {
            return deny("AI workers cannot review runs; a person must");
        }
        if self.kind == MemberKind::Ai && matches!(action, Action::ManageSpace { .. }) {
            return deny(
                "AI workers cannot change decision spaces, so they cannot widen their own autonomy",
            );
        }
        if self.kind == MemberKind::Ai && matches!(action, Action::ReviewOutcome { .. }) {
            return deny("AI workers do not review the outcome of decisions; people do");
        }
        if self.kind == MemberKind::Ai
            && matches!(
                action,
                Action::MakePromise { .. }
                    | Action::KeepPromise { .. }
                    | Action::SignOffPromise { .. }
                    | Action::ManageServices
            )
        {
            return deny(
                "promises to customers, and the services they rest on, are made and kept by people",
            );
        }
        if self.kind == MemberKind::Ai
            && matches!(
                action,
                Action::ManageFlows
                    | Action::OpenCase { .. }
                    | Action::CheckCriterion { .. }
                    | Action::WriteLearning
            )
        {
            return deny(
                "gates are shaped and checked by people; an AI worker checks only the criteria given to it, and proposes verdicts as its space allows",
            );
        }
        if self.kind == MemberKind::Ai && action == Action::ManageTemplates {
            return deny(
                "how AI work is asked for is written by people; an AI worker does not write its own work orders",
            );
        }
        if self.kind == MemberKind::Ai
            && matches!(action, Action::RunPulse { .. } | Action::AnswerPulse)
        {
            return deny(
                "a pulse hears the people of a team; AI workers neither ask nor answer it",
            );
        }
        if let Action::ReviewOutcome {
            involved,
            space_team,
        } = action
        {
            return if involved
                || self
                    .may(Action::ManageSpace {
                        team_id: space_team,
                    })
                    .is_ok()
            {
                Ok(())
            } else {
                deny(
                    "only the requester, a voter, or whoever manages the space reviews the outcome",
                )
            };
        }
        if let Action::MoveWork { from, to, .. } = action
            && self.kind == MemberKind::Ai
        {
            if from == WorkState::InReview {
                return deny(
                    "an AI worker never moves work on from review: a person accepts, revises or rejects it",
                );
            }
            if matches!(to, WorkState::Done | WorkState::Cancelled) {
                return deny(
                    "only a person closes or cancels work; an AI worker hands its work in for review",
                );
            }
        }
        if self.is_admin() {
            return match action {
                Action::CreateMember { role: Role::Owner }
                | Action::ManageMember { role: Role::Owner }
                    if self.role != Role::Owner =>
                {
                    deny("only an owner can make or change an owner")
                }
                _ => Ok(()),
            };
        }
        let lead = self.role == Role::Lead;
        match action {
            Action::Read => Ok(()),
            Action::ReadAudit => deny("the audit log is for admins and owners"),
            Action::ManageOrg => deny("only admins can change who leads a team or where it hangs"),
            Action::ManageProviders => deny("only admins can change model providers and prices"),
            Action::ManageOrgSettings => deny("only admins change the org's settings"),
            Action::RunPulse { team_id } if lead && self.leads(Some(team_id)) => Ok(()),
            Action::RunPulse { .. } => {
                deny("only admins and the team's leads ask a team for its pulse and read it")
            }
            Action::AnswerPulse => Ok(()),
            Action::ManageTemplates if lead => Ok(()),
            Action::ManageTemplates => {
                deny("only admins and leads write the org's work-order templates")
            }
            Action::ManageBudget { team_id } if lead && self.leads(team_id) => Ok(()),
            Action::ManageBudget { .. } => {
                deny("only admins, or the lead of a team for its team budgets, can change budgets")
            }
            Action::Review {
                team_id,
                created_by,
            } => {
                if (lead && self.leads(team_id)) || created_by == self.member_id {
                    Ok(())
                } else {
                    deny(
                        "only admins, the team's lead and the person who created the item can review its runs",
                    )
                }
            }
            Action::ManageSpace { team_id } if lead && self.leads(team_id) => Ok(()),
            Action::ManageSpace { .. } => {
                deny("only admins and the leads of its team can change a decision space")
            }
            Action::RequestDecision => Ok(()),
            Action::ReviewOutcome { .. } => Ok(()),
            Action::CreateTeam { parent_id } if lead && self.leads(parent_id) => Ok(()),
            Action::CreateTeam { .. } => {
                deny("only admins, or the lead of the parent team, can create teams")
            }
            Action::ManageTeam { team_id } if lead && self.leads(Some(team_id)) => Ok(()),
            Action::ManageTeam { .. } => deny("only admins and the team's lead can change a team"),
            Action::CreateMember { .. } | Action::ManageMember { .. } => {
                deny("only admins can add or change members")
            }
            Action::CreateToken { for_member } if for_member == self.member_id => Ok(()),
            Action::CreateToken { .. } => deny("only admins can create tokens for other members"),
            Action::WriteObjective(scope) => {
                if lead && (self.leads(scope.team_id) || scope.owner_id == Some(self.member_id)) {
                    Ok(())
                } else {
                    deny("only admins and the leads of its team can change an objective")
                }
            }
            Action::CheckIn(scope) => {
                if scope.owner_id == Some(self.member_id) || self.belongs_to(scope.team_id) {
                    Ok(())
                } else {
                    deny("only the objective's owner, its team and admins can check in")
                }
            }
            Action::CreateWork {
                team_id,
                assignee_id,
            } => {
                if lead && self.leads(team_id) {
                    return Ok(());
                }
                let own_assignee = assignee_id.is_none() || assignee_id == Some(self.member_id);
                let own_team = team_id.is_none() || self.belongs_to(team_id);
                match (own_assignee, own_team) {
                    (true, true) => Ok(()),
                    (false, _) => deny(
                        "members can create work only for themselves or unassigned; a team lead can assign others",
                    ),
                    (_, false) => deny("members can create work only in their own teams"),
                }
            }
            Action::ManageServices | Action::ManageFlows if lead => Ok(()),
            Action::ManageFlows => deny("only admins and leads shape flows and their gates"),
            Action::OpenCase { team_id } => {
                if team_id.is_none() || self.belongs_to(team_id) {
                    Ok(())
                } else {
                    deny("a case is opened by the team of the flow's first stage")
                }
            }
            Action::CheckCriterion { receiving_team_id } => {
                if receiving_team_id.is_none() || self.belongs_to(receiving_team_id) {
                    Ok(())
                } else {
                    deny("a gate's criteria are checked by the stage the case goes on to")
                }
            }
            Action::WriteLearning => Ok(()),
            Action::ManageServices => deny("only admins and leads shape the service catalogue"),
            Action::MakePromise { team_id } => {
                if self.belongs_to(team_id) {
                    Ok(())
                } else {
                    deny("a promise is made on behalf of a team one belongs to")
                }
            }
            Action::SignOffPromise { keeper_team_id } => {
                if self.belongs_to(keeper_team_id) {
                    Ok(())
                } else {
                    deny("only the stage that keeps a promise signs it off")
                }
            }
            Action::KeepPromise {
                keeper_team_id,
                promised_by,
            } => {
                if self.belongs_to(keeper_team_id) || promised_by == self.member_id {
                    Ok(())
                } else {
                    deny("only the keeping team, whoever made the promise and admins act on it")
                }
            }
            Action::UpdateWork {
                team_id,
                assignee_id,
                created_by,
            }
            | Action::MoveWork {
                team_id,
                assignee_id,
                created_by,
                ..
            } => {
                if (lead && self.leads(team_id))
                    || assignee_id == Some(self.member_id)
                    || created_by == self.member_id
                {
                    Ok(())
                } else {
                    deny("members can change only work assigned to or created by them")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, teams: &[u128], led: &[u128]) -> Actor {
        Actor {
            org_id: Uuid::nil(),
            member_id: Uuid::from_u128(1),
            kind: MemberKind::Human,
            role,
            teams: teams.iter().map(|t| Uuid::from_u128(*t)).collect(),
            led_teams: led.iter().map(|t| Uuid::from_u128(*t)).collect(),
        }
    }

    const ME: Uuid = Uuid::from_u128(1);
    const OTHER: Uuid = Uuid::from_u128(2);
    const TEAM: Uuid = Uuid::from_u128(10);
    const FOREIGN_TEAM: Uuid = Uuid::from_u128(11);

    #[test]
    fn only_people_in_charge_review_and_never_an_ai() {
        let review = Action::Review {
            team_id: Some(TEAM),
            created_by: OTHER,
        };
        assert!(actor(Role::Lead, &[], &[10]).may(review).is_ok());
        assert!(actor(Role::Admin, &[], &[]).may(review).is_ok());
        assert!(actor(Role::Member, &[10], &[]).may(review).is_err());
        let own = Action::Review {
            team_id: Some(FOREIGN_TEAM),
            created_by: ME,
        };
        assert!(actor(Role::Member, &[], &[]).may(own).is_ok());
        let ai = Actor {
            kind: MemberKind::Ai,
            ..actor(Role::Member, &[10], &[])
        };
        assert!(ai.may(own).is_err());
        assert!(
            actor(Role::Lead, &[], &[10])
                .may(Action::ManageProviders)
                .is_err()
        );
        assert!(
            actor(Role::Lead, &[], &[10])
                .may(Action::ManageBudget {
                    team_id: Some(TEAM)
                })
                .is_ok()
        );
        assert!(
            actor(Role::Lead, &[], &[10])
                .may(Action::ManageBudget { team_id: None })
                .is_err()
        );
    }

    fn move_work(from: WorkState, to: WorkState) -> Action {
        Action::MoveWork {
            team_id: Some(TEAM),
            assignee_id: Some(ME),
            created_by: OTHER,
            from,
            to,
        }
    }

    #[test]
    fn an_ai_worker_never_closes_cancels_or_reopens_delivered_work() {
        use WorkState::*;
        let ai = Actor {
            kind: MemberKind::Ai,
            ..actor(Role::Member, &[10], &[])
        };
        for to in [Done, Running, Cancelled, Ready, Blocked] {
            let refused = ai.may(move_work(InReview, to));
            assert!(
                refused.as_ref().is_err_and(|d| d.0.contains("review")),
                "in_review → {to}: {refused:?}"
            );
        }
        for from in [Backlog, Ready, Running, Blocked] {
            assert!(ai.may(move_work(from, Done)).is_err(), "{from} → done");
            assert!(
                ai.may(move_work(from, Cancelled)).is_err(),
                "{from} → cancelled"
            );
        }
        // Its own work up to review is its to move.
        for (from, to) in [
            (Backlog, Ready),
            (Ready, Running),
            (Running, InReview),
            (Blocked, Ready),
        ] {
            assert!(ai.may(move_work(from, to)).is_ok(), "{from} → {to}");
        }
    }

    #[test]
    fn a_person_in_charge_closes_delivered_work() {
        use WorkState::*;
        let lead = actor(Role::Lead, &[10], &[10]);
        assert!(lead.may(move_work(InReview, Done)).is_ok());
        assert!(lead.may(move_work(InReview, Cancelled)).is_ok());
        let creator = Actor {
            member_id: OTHER,
            ..actor(Role::Member, &[], &[])
        };
        assert!(creator.may(move_work(InReview, Done)).is_ok());
        let bystander = Actor {
            member_id: Uuid::from_u128(3),
            ..actor(Role::Member, &[10], &[])
        };
        assert!(bystander.may(move_work(InReview, Done)).is_err());
    }

    #[test]
    fn only_people_involved_or_in_charge_look_back_on_a_decision() {
        let outcome = |involved| Action::ReviewOutcome {
            involved,
            space_team: Some(TEAM),
        };
        assert!(actor(Role::Member, &[], &[]).may(outcome(true)).is_ok());
        assert!(actor(Role::Member, &[10], &[]).may(outcome(false)).is_err());
        assert!(actor(Role::Lead, &[], &[10]).may(outcome(false)).is_ok());
        assert!(actor(Role::Admin, &[], &[]).may(outcome(false)).is_ok());
        let ai = Actor {
            kind: MemberKind::Ai,
            ..actor(Role::Member, &[10], &[])
        };
        assert!(ai.may(outcome(true)).is_err());
        assert!(actor(Role::Viewer, &[], &[]).may(outcome(true)).is_err());
    }

    #[test]
    fn viewers_only_read() {
        let viewer = actor(Role::Viewer, &[10], &[]);
        assert!(viewer.may(Action::Read).is_ok());
        assert!(
            viewer
                .may(Action::CreateWork {
                    team_id: None,
                    assignee_id: None
                })
                .is_err()
        );
        assert!(
            viewer
                .may(Action::CheckIn(Scope {
                    team_id: Some(TEAM),
                    owner_id: Some(ME)
                }))
                .is_err()
        );
    }

    #[test]
    fn members_write_their_own_work_only() {
        let member = actor(Role::Member, &[10], &[]);
        assert!(
            member
                .may(Action::CreateWork {
                    team_id: Some(TEAM),
                    assignee_id: Some(ME)
                })
                .is_ok()
        );
        assert!(
            member
                .may(Action::CreateWork {
                    team_id: Some(TEAM),
                    assignee_id: Some(OTHER)
                })
                .is_err()
        );
        assert!(
            member
                .may(Action::CreateWork {
                    team_id: Some(FOREIGN_TEAM),
                    assignee_id: None
                })
                .is_err()
        );
        assert!(
            member
                .may(Action::UpdateWork {
                    team_id: Some(TEAM),
                    assignee_id: Some(OTHER),
                    created_by: OTHER
                })
                .is_err()
        );
        assert!(
            member
                .may(Action::UpdateWork {
                    team_id: None,
                    assignee_id: Some(ME),
                    created_by: OTHER
                })
                .is_ok()
        );
        assert!(
            member
                .may(Action::WriteObjective(Scope {
                    team_id: Some(TEAM),
                    owner_id: Some(ME)
                }))
                .is_err()
        );
        assert!(
            member
                .may(Action::CheckIn(Scope {
                    team_id: Some(TEAM),
                    owner_id: None
                }))
                .is_ok()
        );
    }

    #[test]
    fn promises_are_made_in_ones_team_and_kept_by_the_keeping_team_never_by_ai() {
        let member = actor(Role::Member, &[10], &[]);
        let other = Uuid::from_u128(99);
        assert!(
            member
                .may(Action::MakePromise {
                    team_id: Some(TEAM)
                })
                .is_ok()
        );
        assert!(
            member
                .may(Action::MakePromise {
                    team_id: Some(other)
                })
                .is_err()
        );
        assert!(member.may(Action::MakePromise { team_id: None }).is_err());
        let keep = |keeper, by| Action::KeepPromise {
            keeper_team_id: keeper,
            promised_by: by,
        };
        assert!(member.may(keep(Some(TEAM), other)).is_ok());
        assert!(member.may(keep(Some(other), ME)).is_ok());
        assert!(member.may(keep(Some(other), other)).is_err());
        assert!(member.may(Action::ManageServices).is_err());
        let sign_off = |keeper| Action::SignOffPromise {
            keeper_team_id: keeper,
        };
        assert!(member.may(sign_off(Some(TEAM))).is_ok());
        assert!(member.may(sign_off(Some(other))).is_err());
        assert!(
            actor(Role::Lead, &[], &[10])
                .may(Action::ManageServices)
                .is_ok()
        );
        let mut ai = actor(Role::Member, &[10], &[]);
        ai.kind = MemberKind::Ai;
        assert!(
            ai.may(Action::MakePromise {
                team_id: Some(TEAM)
            })
            .is_err()
        );
        assert!(ai.may(keep(Some(TEAM), ME)).is_err());
        let mut ai_admin = actor(Role::Admin, &[10], &[]);
        ai_admin.kind = MemberKind::Ai;
        assert!(ai_admin.may(Action::ManageServices).is_err());
    }

    #[test]
    fn gates_are_shaped_by_leads_and_checked_by_the_receiving_stage_never_by_ai() {
        let other = Uuid::from_u128(99);
        let member = actor(Role::Member, &[10], &[]);
        let check = |team| Action::CheckCriterion {
            receiving_team_id: team,
        };
        assert!(member.may(check(Some(TEAM))).is_ok());
        assert!(member.may(check(Some(other))).is_err());
        assert!(member.may(check(None)).is_ok());
        assert!(
            member
                .may(Action::OpenCase {
                    team_id: Some(other)
                })
                .is_err()
        );
        assert!(member.may(Action::ManageFlows).is_err());
        assert!(
            actor(Role::Lead, &[], &[10])
                .may(Action::ManageFlows)
                .is_ok()
        );
        assert!(
            actor(Role::Viewer, &[10], &[])
                .may(Action::WriteLearning)
                .is_err()
        );
        let mut ai_admin = actor(Role::Admin, &[10], &[]);
        ai_admin.kind = MemberKind::Ai;
        for action in [
            Action::ManageFlows,
            check(None),
            Action::OpenCase { team_id: None },
            Action::WriteLearning,
        ] {
            assert!(ai_admin.may(action).is_err(), "{action:?}");
        }
    }

    #[test]
    fn leads_manage_the_teams_they_lead() {
        let lead = actor(Role::Lead, &[10], &[10]);
        assert!(
            lead.may(Action::WriteObjective(Scope {
                team_id: Some(TEAM),
                owner_id: None
            }))
            .is_ok()
        );
        assert!(
            lead.may(Action::WriteObjective(Scope {
                team_id: Some(FOREIGN_TEAM),
                owner_id: None
            }))
            .is_err()
        );
        assert!(
            lead.may(Action::CreateWork {
                team_id: Some(TEAM),
                assignee_id: Some(OTHER)
            })
            .is_ok()
        );
        assert!(
            lead.may(Action::ManageTeam {
                team_id: FOREIGN_TEAM
            })
            .is_err()
        );
        assert!(
            lead.may(Action::CreateMember { role: Role::Member })
                .is_err()
        );
        assert!(
            lead.may(Action::CreateTeam {
                parent_id: Some(TEAM)
            })
            .is_ok()
        );
        assert!(lead.may(Action::CreateTeam { parent_id: None }).is_err());
    }

    #[test]
    fn only_owners_make_owners() {
        let admin = actor(Role::Admin, &[], &[]);
        assert!(
            admin
                .may(Action::CreateMember { role: Role::Admin })
                .is_ok()
        );
        assert!(
            admin
                .may(Action::CreateMember { role: Role::Owner })
                .is_err()
        );
        let owner = actor(Role::Owner, &[], &[]);
        assert!(
            owner
                .may(Action::CreateMember { role: Role::Owner })
                .is_ok()
        );
        assert!(owner.may(Action::ReadAudit).is_ok());
    }

    #[test]
    fn a_pulse_is_run_by_leads_and_answered_by_people() {
        let team = Uuid::from_u128(7);
        let person = |role, led: Vec<Uuid>| Actor {
            org_id: Uuid::nil(),
            member_id: Uuid::from_u128(1),
            kind: MemberKind::Human,
            role,
            teams: vec![team],
            led_teams: led,
        };
        assert!(
            person(Role::Lead, vec![team])
                .may(Action::RunPulse { team_id: team })
                .is_ok()
        );
        assert!(
            person(Role::Lead, vec![])
                .may(Action::RunPulse { team_id: team })
                .is_err()
        );
        assert!(
            person(Role::Member, vec![])
                .may(Action::RunPulse { team_id: team })
                .is_err()
        );
        assert!(
            person(Role::Admin, vec![])
                .may(Action::RunPulse { team_id: team })
                .is_ok()
        );
        assert!(
            person(Role::Member, vec![])
                .may(Action::AnswerPulse)
                .is_ok()
        );
        let ai = Actor {
            kind: MemberKind::Ai,
            ..person(Role::Admin, vec![team])
        };
        assert!(ai.may(Action::AnswerPulse).is_err());
        assert!(ai.may(Action::RunPulse { team_id: team }).is_err());
    }
}
