//! The leverage view: where AI labour moves objectives, and where it is
//! spent on work that moves nothing (seed 002's *leverage gradient*).
//!
//! For one period, AI spend (settled tokens and cost from the ledger) is
//! set against outcome: the results accepted in the period, the time from
//! order to acceptance, and how far the key results that this AI work
//! served moved between the period's start and end (from check-ins). The
//! figures are grouped by objective, by team, or by the org role of the
//! person who ordered the work (owner, admin, lead, member).
//!
//! A key result counts toward every group whose AI work served it in the
//! period, once per group: two teams working on one key result each see its
//! whole move. Spend on work that serves no key result lands in the group's
//! "none" row, and moves nothing by definition.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::org::Role;
use crate::strategy::key_result_progress;
use crate::text_enum;

text_enum! {
    /// What the leverage view groups by.
    LeverageBy { Objective => "objective", Team => "team", Role => "role" }
}

/// What the work an AI call or result served belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    pub work_item_id: Option<Uuid>,
    pub key_result_id: Option<Uuid>,
    pub objective_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    /// The org role of whoever ordered the work (created the item).
    pub ordered_by: Option<Role>,
}

/// Settled spend of one call in the period.
#[derive(Debug, Clone, PartialEq)]
pub struct Spend {
    pub served: Served,
    pub tokens: i64,
    /// Micro-units of the org's currency.
    pub cost: i64,
}

/// A result accepted in the period.
#[derive(Debug, Clone, PartialEq)]
pub struct Acceptance {
    pub served: Served,
    /// When the work was ordered (its item created).
    pub ordered_at: DateTime<Utc>,
    pub accepted_at: DateTime<Utc>,
}

/// A key result's value at the period's start and end: the last check-in
/// before each, else its baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyResultMove {
    pub key_result_id: Uuid,
    pub baseline: f64,
    pub target: f64,
    pub value_at_start: f64,
    pub value_at_end: f64,
}

impl KeyResultMove {
    /// Progress moved in the period, in percentage points of the way from
    /// baseline to target (negative when it fell back).
    pub fn points(&self) -> f64 {
        let before = key_result_progress(self.baseline, self.target, self.value_at_start);
        let after = key_result_progress(self.baseline, self.target, self.value_at_end);
        (after - before) * 100.0
    }
}

/// What the leverage of a period is computed from, as the store reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeverageFacts {
    pub spend: Vec<Spend>,
    pub accepted: Vec<Acceptance>,
    pub moves: Vec<KeyResultMove>,
}

/// One group's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeverageRow {
    /// The objective's or team's id, or the role's name; none for spend on
    /// work without an objective, team or orderer.
    pub key: Option<String>,
    /// The objective's title, the team's name or the role; set by whoever
    /// reads the names (none for the "none" row and the total).
    pub label: Option<String>,
    /// Settled tokens (input and output) in the period.
    pub tokens: i64,
    /// Settled cost in micro-units of the org's currency.
    pub cost: i64,
    /// AI results accepted in the period.
    pub accepted: i64,
    /// Mean hours from order to acceptance of those results.
    pub cycle_hours: Option<f64>,
    /// The key results this group's AI work served in the period.
    pub key_results: i64,
    /// How far those key results moved in the period, in percentage points
    /// summed over them.
    pub points_moved: f64,
    /// Cost per point moved; none when nothing moved forward.
    pub cost_per_point: Option<i64>,
    /// Spend with no key result moved forward: AI labour that moved nothing.
    pub moves_nothing: bool,
}

/// The groups' figures, the biggest spender first, and the whole org's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Leverage {
    pub rows: Vec<LeverageRow>,
    pub total: LeverageRow,
}

fn key_of(by: LeverageBy, served: &Served) -> Option<String> {
    match by {
        LeverageBy::Objective => served.objective_id.map(|id| id.to_string()),
        LeverageBy::Team => served.team_id.map(|id| id.to_string()),
        LeverageBy::Role => served.ordered_by.map(|r| r.to_string()),
    }
}

#[derive(Default)]
struct Sums {
    tokens: i64,
    cost: i64,
    accepted: i64,
    hours: f64,
    key_results: BTreeSet<Uuid>,
}

impl Sums {
    fn add_spend(&mut self, spend: &Spend) {
        self.tokens += spend.tokens;
        self.cost += spend.cost;
        self.key_results.extend(spend.served.key_result_id);
    }

    fn add_acceptance(&mut self, a: &Acceptance) {
        self.accepted += 1;
        self.hours += (a.accepted_at - a.ordered_at).num_seconds().max(0) as f64 / 3600.0;
        self.key_results.extend(a.served.key_result_id);
    }

    fn row(self, key: Option<String>, moves: &BTreeMap<Uuid, f64>) -> LeverageRow {
        let points_moved: f64 = self
            .key_results
            .iter()
            .map(|kr| moves.get(kr).copied().unwrap_or(0.0))
            .sum();
        // Rounded to a hundredth of a point: check-in values are decimals,
        // and a leader reads points, not float noise.
        // Adding 0.0 turns the -0.0 of an empty sum into 0.0.
        let points_moved = (points_moved * 100.0).round() / 100.0 + 0.0;
        LeverageRow {
            key,
            label: None,
            tokens: self.tokens,
            cost: self.cost,
            accepted: self.accepted,
            cycle_hours: (self.accepted > 0).then(|| self.hours / self.accepted as f64),
            key_results: self.key_results.len() as i64,
            points_moved,
            cost_per_point: (points_moved > 0.0)
                .then(|| (self.cost as f64 / points_moved).ceil() as i64),
            moves_nothing: self.cost > 0 && points_moved <= 0.0,
        }
    }
}

/// The leverage figures of a period, grouped `by`.
pub fn leverage(by: LeverageBy, facts: &LeverageFacts) -> Leverage {
    let LeverageFacts {
        spend,
        accepted,
        moves,
    } = facts;
    let moves: BTreeMap<Uuid, f64> = moves
        .iter()
        .map(|m| (m.key_result_id, m.points()))
        .collect();
    let mut groups: BTreeMap<Option<String>, Sums> = BTreeMap::new();
    let mut total = Sums::default();
    for s in spend {
        groups
            .entry(key_of(by, &s.served))
            .or_default()
            .add_spend(s);
        total.add_spend(s);
    }
    for a in accepted {
        groups
            .entry(key_of(by, &a.served))
            .or_default()
            .add_acceptance(a);
        total.add_acceptance(a);
    }
    let mut rows: Vec<LeverageRow> = groups
        .into_iter()
        .map(|(key, sums)| sums.row(key, &moves))
        .collect();
    rows.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.key.cmp(&b.key)));
    Leverage {
        rows,
        total: total.row(None, &moves),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn served(kr: Option<Uuid>, objective: Option<Uuid>, role: Role) -> Served {
        Served {
            work_item_id: Some(Uuid::now_v7()),
            key_result_id: kr,
            objective_id: objective,
            team_id: None,
            ordered_by: Some(role),
        }
    }

    #[test]
    fn spend_is_set_against_the_points_its_key_results_moved() {
        let (o1, o2) = (Uuid::now_v7(), Uuid::now_v7());
        let (kr1, kr2) = (Uuid::now_v7(), Uuid::now_v7());
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        let spend = [
            Spend {
                served: served(Some(kr1), Some(o1), Role::Lead),
                tokens: 1_000,
                cost: 3_000_000,
            },
            Spend {
                served: served(Some(kr2), Some(o2), Role::Member),
                tokens: 500,
                cost: 1_000_000,
            },
            Spend {
                served: served(None, None, Role::Member),
                tokens: 200,
                cost: 500_000,
            },
        ];
        let accepted = [
            Acceptance {
                served: served(Some(kr1), Some(o1), Role::Lead),
                ordered_at: t0,
                accepted_at: t0 + Duration::hours(4),
            },
            Acceptance {
                served: served(Some(kr1), Some(o1), Role::Lead),
                ordered_at: t0,
                accepted_at: t0 + Duration::hours(8),
            },
        ];
        let moves = [
            // 20 → 50 of 0 → 100: 30 points.
            KeyResultMove {
                key_result_id: kr1,
                baseline: 0.0,
                target: 100.0,
                value_at_start: 20.0,
                value_at_end: 50.0,
            },
            KeyResultMove {
                key_result_id: kr2,
                baseline: 0.0,
                target: 10.0,
                value_at_start: 4.0,
                value_at_end: 4.0,
            },
        ];
        let facts = LeverageFacts {
            spend: spend.to_vec(),
            accepted: accepted.to_vec(),
            moves: moves.to_vec(),
        };
        let by_objective = leverage(LeverageBy::Objective, &facts);
        assert_eq!(by_objective.rows.len(), 3);
        let first = &by_objective.rows[0];
        assert_eq!(first.key, Some(o1.to_string()));
        assert_eq!(first.accepted, 2);
        assert_eq!(first.cycle_hours, Some(6.0));
        assert_eq!(first.points_moved, 30.0);
        assert_eq!(first.cost_per_point, Some(100_000));
        assert!(!first.moves_nothing);
        let second = &by_objective.rows[1];
        assert_eq!((second.key_results, second.points_moved), (1, 0.0));
        assert!(
            second.moves_nothing,
            "spend on a key result that stood still"
        );
        let none = &by_objective.rows[2];
        assert_eq!((none.key.as_deref(), none.moves_nothing), (None, true));
        assert_eq!(by_objective.total.cost, 4_500_000);
        assert_eq!(by_objective.total.points_moved, 30.0);

        let by_role = leverage(LeverageBy::Role, &facts);
        let keys: Vec<_> = by_role.rows.iter().map(|r| r.key.as_deref()).collect();
        assert_eq!(keys, [Some("lead"), Some("member")]);
        assert_eq!(by_role.rows[1].cost, 1_500_000);
    }

    #[test]
    fn the_sheet_has_a_row_per_group_and_the_total() {
        let facts = LeverageFacts {
            spend: vec![Spend {
                served: served(None, None, Role::Lead),
                tokens: 10,
                cost: 1_500_000,
            }],
            ..LeverageFacts::default()
        };
        let mut view = leverage(LeverageBy::Role, &facts);
        view.rows[0].label = Some("=lead".into());
        let sheet = crate::sheet::leverage_csv(&view, "none");
        let lines: Vec<_> = sheet.lines().collect();
        assert_eq!(lines[0], crate::sheet::LEVERAGE_COLUMNS.join(","));
        assert_eq!(lines[1], "'=lead,10,1.500000,0,,0,0.00,,true,lead");
        assert_eq!(lines[2], "total,10,1.500000,0,,0,0.00,,true,");
    }

    #[test]
    fn a_key_result_that_fell_back_moves_negative_points() {
        let m = KeyResultMove {
            key_result_id: Uuid::now_v7(),
            baseline: 10.0,
            target: 0.0,
            value_at_start: 5.0,
            value_at_end: 8.0,
        };
        assert!((m.points() - -30.0).abs() < 1e-9);
    }
}
