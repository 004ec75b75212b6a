//! Decision spaces on Cedar: the schema a space's policy is written against,
//! validation with line and column, and evaluation to a verdict that names
//! the policies that gave it.
//!
//! The entity model:
//! - principal `Member` (`kind` "human" | "ai", `role`, `teams`), in its teams;
//! - actions `prepare`, `decide`, `approve`, `escalate`;
//! - resource `Decision` (`amount` in whole units rounded up, `currency`,
//!   `risk`, `reversible`, `customer_facing`, and the attributes its space
//!   declares), in its `DecisionSpace`.
//!
//! Routing asks two questions of the policy for the assigned AI worker: may it
//! `decide`? If not, may it `prepare`? The answers give the autonomy
//! (`ai_decides`, `ai_prepares`, `human_only`). A policy's `@id("…")` names it
//! in every verdict (Cedar's `policy0`, `policy1`, … otherwise), and
//! `@quorum("n")` on a policy that decided raises the approvals needed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, PolicyId, PolicySet, Request, RestrictedExpression, Schema, ValidationMode,
    Validator,
};
use miette::Diagnostic;
use serde::Serialize;
use tutti_domain::decision::{
    AttributeType, AttributeValue, Autonomy, Facts, PolicyAction, PolicyVerdict, Routing,
};
use tutti_domain::org::{MemberKind, Role};
use uuid::Uuid;

/// The most approvals a `@quorum` may ask for.
pub const MAX_QUORUM: i64 = 9;

/// One thing wrong with a policy, where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub message: String,
    /// 1-based, when Cedar says where.
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "line {line}, column {column}: {}", self.message)
            }
            _ => f.write_str(&self.message),
        }
    }
}

/// A policy refused when a space is saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct Refused {
    pub problems: Vec<Problem>,
}

impl Refused {
    fn one(source: &str, offset: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            problems: vec![problem_at(source, offset, message.into())],
        }
    }
}

/// A policy a leader can start from.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Template {
    pub name: &'static str,
    pub title: &'static str,
    pub source: &'static str,
}

pub const TEMPLATES: &[Template] = &[
    Template {
        name: "discounts",
        title: "AI decides small reversible amounts, prepares the rest for two people",
        source: include_str!("../templates/discounts.cedar"),
    },
    Template {
        name: "prepare-only",
        title: "AI prepares every decision, people decide",
        source: include_str!("../templates/prepare-only.cedar"),
    },
    Template {
        name: "quality-gates",
        title: "Quality gates: AI may hold or recycle a case, prepares go and kill for people",
        source: include_str!("../templates/quality-gates.cedar"),
    },
    Template {
        name: "people-only",
        title: "People only: every decision goes to people",
        source: include_str!("../templates/people-only.cedar"),
    },
];

/// Who asks.
#[derive(Debug, Clone, Copy)]
pub struct Principal<'a> {
    pub id: Uuid,
    pub kind: MemberKind,
    pub role: Role,
    pub teams: &'a [Uuid],
}

/// The Cedar schema for a space that declares `attributes`.
pub fn schema_source(attributes: &BTreeMap<String, AttributeType>) -> String {
    let mut declared = String::new();
    for (name, kind) in attributes {
        let kind = match kind {
            AttributeType::Long => "Long",
            AttributeType::String => "String",
            AttributeType::Bool => "Bool",
        };
        declared.push_str(&format!("  \"{name}\": {kind},\n"));
    }
    format!(
        "entity Team;\n\
         entity DecisionSpace;\n\
         entity Member in [Team] {{\n  kind: String,\n  role: String,\n  teams: Set<Team>,\n}};\n\
         entity Decision in [DecisionSpace] {{\n  amount: Long,\n  currency: String,\n  risk: String,\n  \
         reversible: Bool,\n  customer_facing: Bool,\n{declared}}};\n\
         action prepare, decide, approve, escalate appliesTo {{\n  principal: Member,\n  resource: Decision,\n}};\n"
    )
}

/// A space's policy, parsed and validated, ready to evaluate.
#[derive(Debug)]
pub struct CompiledPolicy {
    policies: PolicySet,
    quorums: HashMap<PolicyId, i64>,
    authorizer: Authorizer,
    names: Names,
}

/// Entity type names and action uids, parsed once.
#[derive(Debug)]
struct Names {
    member: EntityTypeName,
    team: EntityTypeName,
    decision: EntityTypeName,
    space: EntityTypeName,
    actions: [EntityUid; 4],
}

impl Names {
    fn new() -> Result<Self, Refused> {
        let name = |n: &str| {
            EntityTypeName::from_str(n)
                .map_err(|e| Refused::one("", None, format!("internal: {e}")))
        };
        let action_type = name("Action")?;
        let action =
            |a: &str| EntityUid::from_type_name_and_id(action_type.clone(), EntityId::new(a));
        Ok(Self {
            member: name("Member")?,
            team: name("Team")?,
            decision: name("Decision")?,
            space: name("DecisionSpace")?,
            actions: [
                action("prepare"),
                action("decide"),
                action("approve"),
                action("escalate"),
            ],
        })
    }

    fn action(&self, action: PolicyAction) -> &EntityUid {
        let index = match action {
            PolicyAction::Prepare => 0,
            PolicyAction::Decide => 1,
            PolicyAction::Approve => 2,
            PolicyAction::Escalate => 3,
        };
        &self.actions[index]
    }

    fn uid(&self, kind: &EntityTypeName, id: Uuid) -> EntityUid {
        EntityUid::from_type_name_and_id(kind.clone(), EntityId::new(id.to_string()))
    }
}

/// Parses `source` and validates it against the schema for `attributes`.
pub fn compile(
    source: &str,
    attributes: &BTreeMap<String, AttributeType>,
) -> Result<CompiledPolicy, Refused> {
    let schema = Schema::from_str(&schema_source(attributes)).map_err(|e| {
        Refused::one(
            "",
            None,
            format!("the space's attributes make no schema: {e}"),
        )
    })?;
    let parsed =
        PolicySet::from_str(source).map_err(|e| diagnostics(source, &e, &e.to_string()))?;
    if parsed.templates().next().is_some() {
        return Err(Refused::one(
            source,
            None,
            "policy templates with slots (?principal, ?resource) are not supported; write the policy out",
        ));
    }
    let validated = Validator::new(schema).validate(&parsed, ValidationMode::Strict);
    if !validated.validation_passed() {
        let problems = validated
            .validation_errors()
            .flat_map(|e| diagnostics(source, e, &e.to_string()).problems)
            .collect();
        return Err(Refused { problems });
    }
    let mut policies = PolicySet::new();
    let mut quorums = HashMap::new();
    let mut seen = HashSet::new();
    for policy in parsed.policies() {
        let named = match policy.annotation("id") {
            Some(id) => {
                if !seen.insert(id.to_owned()) {
                    let at = source
                        .match_indices(&format!("\"{id}\""))
                        .nth(1)
                        .map(|(i, _)| i);
                    return Err(Refused::one(
                        source,
                        at,
                        format!("two policies have @id(\"{id}\")"),
                    ));
                }
                policy.new_id(PolicyId::new(id))
            }
            None => policy.clone(),
        };
        if let Some(quorum) = named.annotation("quorum") {
            let at = source.find(&format!("@quorum(\"{quorum}\")"));
            let n = quorum
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=MAX_QUORUM).contains(n))
                .ok_or_else(|| {
                    Refused::one(
                        source,
                        at,
                        format!(
                            "@quorum(\"{quorum}\") must be a whole number from 1 to {MAX_QUORUM}"
                        ),
                    )
                })?;
            quorums.insert(named.id().clone(), n);
        }
        policies
            .add(named)
            .map_err(|e| Refused::one(source, None, e.to_string()))?;
    }
    Ok(CompiledPolicy {
        policies,
        quorums,
        authorizer: Authorizer::new(),
        names: Names::new()?,
    })
}

fn diagnostics(source: &str, diagnostic: &dyn Diagnostic, fallback: &str) -> Refused {
    let mut problems = Vec::new();
    let mut push = |d: &dyn Diagnostic| {
        let offset = d
            .labels()
            .and_then(|mut labels| labels.next())
            .map(|l| l.offset());
        let mut message = d.to_string();
        if let Some(help) = d.help() {
            message.push_str(&format!(" ({help})"));
        }
        problems.push(problem_at(source, offset, message));
    };
    push(diagnostic);
    if let Some(related) = diagnostic.related() {
        related.for_each(&mut push);
    }
    if problems.is_empty() {
        problems.push(problem_at(source, None, fallback.to_owned()));
    }
    Refused { problems }
}

fn problem_at(source: &str, offset: Option<usize>, message: String) -> Problem {
    let Some(offset) = offset.filter(|o| *o <= source.len()) else {
        return Problem {
            message,
            line: None,
            column: None,
        };
    };
    let boundary = (0..=offset)
        .rev()
        .find(|i| source.is_char_boundary(*i))
        .unwrap_or(0);
    let before = &source[..boundary];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Problem {
        message,
        line: Some(line),
        column: Some(column),
    }
}

impl CompiledPolicy {
    /// How many policies the space holds.
    pub fn len(&self) -> usize {
        self.policies.policies().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Asks the policy whether `principal` may take `action` on a decision.
    pub fn evaluate(
        &self,
        principal: &Principal<'_>,
        action: PolicyAction,
        space_id: Uuid,
        decision_id: Uuid,
        facts: &Facts,
    ) -> PolicyVerdict {
        let refused = |error: String| PolicyVerdict {
            action,
            principal_id: principal.id,
            allowed: false,
            policies: Vec::new(),
            errors: vec![error],
        };
        let names = &self.names;
        let member_uid = names.uid(&names.member, principal.id);
        let decision_uid = names.uid(&names.decision, decision_id);
        let teams: Vec<EntityUid> = principal
            .teams
            .iter()
            .map(|t| names.uid(&names.team, *t))
            .collect();
        let member = Entity::new(
            member_uid.clone(),
            HashMap::from([
                (
                    "kind".to_owned(),
                    RestrictedExpression::new_string(principal.kind.as_str().to_owned()),
                ),
                (
                    "role".to_owned(),
                    RestrictedExpression::new_string(principal.role.as_str().to_owned()),
                ),
                (
                    "teams".to_owned(),
                    RestrictedExpression::new_set(
                        teams
                            .iter()
                            .cloned()
                            .map(RestrictedExpression::new_entity_uid),
                    ),
                ),
            ]),
            teams.into_iter().collect(),
        );
        let mut attrs = HashMap::from([
            (
                "amount".to_owned(),
                RestrictedExpression::new_long(facts.whole_amount()),
            ),
            (
                "currency".to_owned(),
                RestrictedExpression::new_string(facts.currency.clone()),
            ),
            (
                "risk".to_owned(),
                RestrictedExpression::new_string(facts.risk.as_str().to_owned()),
            ),
            (
                "reversible".to_owned(),
                RestrictedExpression::new_bool(facts.reversible),
            ),
            (
                "customer_facing".to_owned(),
                RestrictedExpression::new_bool(facts.customer_facing),
            ),
        ]);
        for (name, value) in &facts.attributes {
            let value = match value {
                AttributeValue::Bool(b) => RestrictedExpression::new_bool(*b),
                AttributeValue::Long(n) => RestrictedExpression::new_long(*n),
                AttributeValue::String(s) => RestrictedExpression::new_string(s.clone()),
            };
            attrs.insert(name.clone(), value);
        }
        let decision = Entity::new(
            decision_uid.clone(),
            attrs,
            HashSet::from([names.uid(&names.space, space_id)]),
        );
        let (member, decision) = match (member, decision) {
            (Ok(m), Ok(d)) => (m, d),
            (Err(e), _) | (_, Err(e)) => return refused(e.to_string()),
        };
        let entities = match Entities::from_entities([member, decision], None) {
            Ok(entities) => entities,
            Err(e) => return refused(e.to_string()),
        };
        let request = match Request::new(
            member_uid,
            names.action(action).clone(),
            decision_uid,
            Context::empty(),
            None,
        ) {
            Ok(request) => request,
            Err(e) => return refused(e.to_string()),
        };
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &entities);
        let mut policies: Vec<String> = response
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .collect();
        policies.sort();
        PolicyVerdict {
            action,
            principal_id: principal.id,
            allowed: response.decision() == CedarDecision::Allow,
            policies,
            errors: response
                .diagnostics()
                .errors()
                .map(ToString::to_string)
                .collect(),
        }
    }

    /// Routes a decision: what the assigned AI worker (if any) may do with it,
    /// and how many people must approve otherwise.
    pub fn route(
        &self,
        ai_worker: Option<&Principal<'_>>,
        space_id: Uuid,
        decision_id: Uuid,
        facts: &Facts,
        space_quorum: i64,
    ) -> Routing {
        let Some(worker) = ai_worker else {
            return Routing {
                autonomy: Autonomy::HumanOnly,
                quorum: space_quorum.max(1),
                verdicts: Vec::new(),
                explanation: "human_only: no AI worker is assigned".to_owned(),
            };
        };
        let decide = self.evaluate(worker, PolicyAction::Decide, space_id, decision_id, facts);
        if decide.allowed {
            let explanation = format!("ai_decides: {}", decide.explain());
            return Routing {
                autonomy: Autonomy::AiDecides,
                quorum: 0,
                verdicts: vec![decide],
                explanation,
            };
        }
        let prepare = self.evaluate(worker, PolicyAction::Prepare, space_id, decision_id, facts);
        let raised = decide
            .policies
            .iter()
            .chain(&prepare.policies)
            .filter_map(|id| self.quorums.get(&PolicyId::new(id)))
            .copied()
            .max()
            .unwrap_or(0);
        let quorum = space_quorum.max(raised).max(1);
        let (autonomy, explanation) = if prepare.allowed {
            (
                Autonomy::AiPrepares,
                format!(
                    "ai_prepares: {}; {}; {quorum} approval(s) needed",
                    decide.explain(),
                    prepare.explain()
                ),
            )
        } else {
            (
                Autonomy::HumanOnly,
                format!(
                    "human_only: {}; {}; {quorum} approval(s) needed",
                    decide.explain(),
                    prepare.explain()
                ),
            )
        };
        Routing {
            autonomy,
            quorum,
            verdicts: vec![decide, prepare],
            explanation,
        }
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;
    use tutti_domain::decision::Risk;

    fn facts(amount: i64, reversible: bool, customer_facing: bool) -> Facts {
        Facts {
            amount_minor: amount * 100,
            currency: "EUR".into(),
            risk: Risk::Low,
            reversible,
            customer_facing,
            attributes: BTreeMap::new(),
        }
    }

    fn ai(teams: &[Uuid]) -> Principal<'_> {
        Principal {
            id: Uuid::now_v7(),
            kind: MemberKind::Ai,
            role: Role::Member,
            teams,
        }
    }

    fn discounts() -> CompiledPolicy {
        compile(TEMPLATES[0].source, &BTreeMap::new()).unwrap()
    }

    #[test]
    fn every_template_validates() {
        for template in TEMPLATES {
            let compiled = compile(template.source, &BTreeMap::new())
                .unwrap_or_else(|e| unreachable!("{}: {e}", template.name));
            assert!(!compiled.is_empty(), "{}", template.name);
        }
    }

    #[test]
    fn small_reversible_amounts_are_the_ai_workers_and_large_ones_need_two_people() {
        let policy = discounts();
        let worker = ai(&[]);
        let (space, id) = (Uuid::now_v7(), Uuid::now_v7());
        let small = policy.route(Some(&worker), space, id, &facts(500, true, false), 1);
        assert_eq!(small.autonomy, Autonomy::AiDecides);
        assert_eq!(
            small.verdicts[0].policies,
            vec!["ai-decides-small-reversible"]
        );
        let large = policy.route(Some(&worker), space, id, &facts(5000, true, false), 1);
        assert_eq!(large.autonomy, Autonomy::AiPrepares);
        assert_eq!(large.quorum, 2);
        assert_eq!(large.verdicts[1].policies, vec!["ai-prepares-larger"]);
        // 999.01 rounds up to 1000 and is no longer "under 1000".
        let mut edge = facts(0, true, false);
        edge.amount_minor = 99_901;
        assert_eq!(
            policy.route(Some(&worker), space, id, &edge, 1).autonomy,
            Autonomy::AiPrepares
        );
        let promised = policy.route(Some(&worker), space, id, &facts(10, true, true), 1);
        assert_eq!(promised.autonomy, Autonomy::AiPrepares);
        assert_eq!(
            promised.verdicts[0].policies,
            vec!["customer-facing-stays-human"]
        );
    }

    #[test]
    fn approval_names_the_policy_that_refused() {
        let policy = discounts();
        let worker = ai(&[]);
        let verdict = policy.evaluate(
            &worker,
            PolicyAction::Approve,
            Uuid::now_v7(),
            Uuid::now_v7(),
            &facts(1, true, false),
        );
        assert!(!verdict.allowed);
        assert_eq!(verdict.policies, vec!["ai-never-approves"]);
        let lead = Principal {
            id: Uuid::now_v7(),
            kind: MemberKind::Human,
            role: Role::Lead,
            teams: &[],
        };
        assert!(
            policy
                .evaluate(
                    &lead,
                    PolicyAction::Approve,
                    Uuid::now_v7(),
                    Uuid::now_v7(),
                    &facts(1, true, false)
                )
                .allowed
        );
        let viewer = Principal {
            role: Role::Viewer,
            ..lead
        };
        let denied = policy.evaluate(
            &viewer,
            PolicyAction::Approve,
            Uuid::now_v7(),
            Uuid::now_v7(),
            &facts(1, true, false),
        );
        assert!(!denied.allowed);
        assert!(denied.policies.is_empty());
        assert_eq!(denied.explain(), "approve denied: no policy permits it");
    }

    #[test]
    fn a_policy_that_denies_everything_sends_everything_to_people() {
        let policy = compile("forbid (principal, action, resource);", &BTreeMap::new()).unwrap();
        let routing = policy.route(
            Some(&ai(&[])),
            Uuid::now_v7(),
            Uuid::now_v7(),
            &facts(1, true, false),
            1,
        );
        assert_eq!(routing.autonomy, Autonomy::HumanOnly);
        assert_eq!(routing.verdicts[0].policies, vec!["policy0"]);
        assert!(
            routing
                .explanation
                .starts_with("human_only: decide denied by policy0"),
            "{}",
            routing.explanation
        );
    }

    #[test]
    fn syntax_and_type_errors_say_where() {
        let broken = "permit (principal, action, resource)\nwhen { resource.amount < };";
        let refused = compile(broken, &BTreeMap::new()).unwrap_err();
        assert_eq!(refused.problems[0].line, Some(2), "{refused}");
        assert!(refused.problems[0].column.is_some());

        let mistyped = "@id(\"x\")\npermit (principal, action, resource)\nwhen {\n  resource.amount == \"lots\"\n};";
        let refused = compile(mistyped, &BTreeMap::new()).unwrap_err();
        assert_eq!(refused.problems[0].line, Some(4), "{refused}");

        let unknown = "permit (principal, action, resource) when { resource.region == \"EU\" };";
        assert!(compile(unknown, &BTreeMap::new()).is_err());
        let declared = BTreeMap::from([("region".to_owned(), AttributeType::String)]);
        compile(unknown, &declared).unwrap();

        let twice = "@id(\"a\") permit (principal, action, resource);\n@id(\"a\") forbid (principal, action, resource);";
        let refused = compile(twice, &BTreeMap::new()).unwrap_err();
        assert_eq!(refused.problems[0].line, Some(2));
        let quorum = "@quorum(\"ten\") permit (principal, action, resource);";
        assert!(
            compile(quorum, &BTreeMap::new())
                .unwrap_err()
                .to_string()
                .contains("@quorum")
        );
    }

    #[test]
    fn declared_attributes_and_teams_reach_the_policy() {
        let team = Uuid::now_v7();
        let source = format!(
            "permit (principal, action == Action::\"decide\", resource)\n\
             when {{ principal in Team::\"{team}\" && resource.region == \"EU\" && resource.score > 3 }};"
        );
        let declared = BTreeMap::from([
            ("region".to_owned(), AttributeType::String),
            ("score".to_owned(), AttributeType::Long),
        ]);
        let policy = compile(&source, &declared).unwrap();
        let mut facts = facts(1, true, false);
        facts
            .attributes
            .insert("region".into(), AttributeValue::String("EU".into()));
        facts
            .attributes
            .insert("score".into(), AttributeValue::Long(5));
        let teams = [team];
        let member = ai(&teams);
        assert!(
            policy
                .evaluate(
                    &member,
                    PolicyAction::Decide,
                    Uuid::now_v7(),
                    Uuid::now_v7(),
                    &facts
                )
                .allowed
        );
        let outsider = ai(&[]);
        assert!(
            !policy
                .evaluate(
                    &outsider,
                    PolicyAction::Decide,
                    Uuid::now_v7(),
                    Uuid::now_v7(),
                    &facts
                )
                .allowed
        );
    }
}
