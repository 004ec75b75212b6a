//! An org moved between installations: the versioned JSON document `tutti
//! export` writes and `tutti import` reads.
//!
//! The document carries what an org *is* — its people and AI workers, teams,
//! strategy with its check-in history, work, the service catalogue, flows
//! and gates, decision spaces, routines, providers, models and budgets — and
//! leaves out what would be a secret (tokens, passwords, stored provider
//! keys, webhook URLs) and what is history of the installation it ran on
//! (runs, the ledger, decisions, cases, the audit trail): that history
//! belongs to the chain that recorded it and stays there, listed in
//! [`OrgExport::left_out`].
//!
//! Import gives every record a fresh id and rewrites every reference to it,
//! so one export can be imported twice, or next to its source. The rules
//! here decide what a reference is, refuse a document whose references lead
//! outside it, and order the records so that parents are written before
//! their children; a refusal names the line of the file.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::decision::DecisionSpace;
use crate::labour::{Budget, Provider};
use crate::org::{Member, MemberKind, Role, Team, check_role_for_kind, parse_currency};
use crate::routine::Routine;
use crate::service::{Flow, Gate, ServiceProduct};
use crate::strategy::{CheckIn, KeyResult, Objective, TargetMove};
use crate::validate::{Invalid, ValidationResult};
use crate::work::WorkItem;

/// What the document says it is, so another file is refused at once.
pub const ORG_EXPORT_FORMAT: &str = "tutti.org";
/// The document's version; a reader refuses versions it does not know.
pub const ORG_EXPORT_VERSION: u32 = 1;

/// What an export leaves behind, said in the document itself.
pub const LEFT_OUT: &[&str] = &[
    "API tokens and passwords (set them again: tutti member token, set-password)",
    "provider keys stored in tutti (providers that read their key from an environment variable keep its name)",
    "webhooks (their URLs carry secrets)",
    "runs, reviews, run notes and the token ledger (work an AI worker had in hand keeps its state: start its run again; budgets count afresh)",
    "decisions and their ballots",
    "cases, criterion checks, gate verdicts, promises and learnings",
    "earlier versions of gates, and routine occurrences",
    "alerts and the audit trail",
    "pulse surveys, who answered them and the answers (an answer belongs to the installation that promised its anonymity)",
];

/// A whole org, as exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgExport {
    pub format: String,
    pub version: u32,
    pub exported_at: DateTime<Utc>,
    pub org: ExportedOrg,
    #[serde(default)]
    pub left_out: Vec<String>,
    #[serde(default)]
    pub members: Vec<Member>,
    #[serde(default)]
    pub teams: Vec<Team>,
    #[serde(default)]
    pub providers: Vec<Provider>,
    #[serde(default)]
    pub budgets: Vec<Budget>,
    #[serde(default)]
    pub objectives: Vec<Objective>,
    #[serde(default)]
    pub key_results: Vec<KeyResult>,
    #[serde(default)]
    pub check_ins: Vec<CheckIn>,
    #[serde(default)]
    pub target_moves: Vec<TargetMove>,
    #[serde(default)]
    pub service_products: Vec<ServiceProduct>,
    #[serde(default)]
    pub work_items: Vec<ExportedWorkItem>,
    #[serde(default)]
    pub spaces: Vec<DecisionSpace>,
    #[serde(default)]
    pub flows: Vec<Flow>,
    #[serde(default)]
    pub gates: Vec<Gate>,
    #[serde(default)]
    pub routines: Vec<Routine>,
}

/// The org itself: its id is the installation's, so it is not carried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportedOrg {
    pub name: String,
    pub currency: String,
    pub time_zone: String,
    pub created_at: DateTime<Utc>,
}

/// A work item with the key it has elsewhere (a Jira key), so a later
/// import from there still updates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportedWorkItem {
    #[serde(flatten)]
    pub item: WorkItem,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_key: Option<String>,
}

/// How many records of each kind a document holds, as the import reports.
pub type Counts = BTreeMap<&'static str, usize>;

impl OrgExport {
    /// Reads a document, refusing anything but this format and version and
    /// naming the line and column of what cannot be read.
    pub fn parse(text: &str) -> ValidationResult<Self> {
        let head: Value = serde_json::from_str(text).map_err(|e| at_line("file", &e))?;
        let format = head.get("format").and_then(Value::as_str);
        if format != Some(ORG_EXPORT_FORMAT) {
            return Err(Invalid::new(
                "format",
                format!(
                    "line 1: not a tutti org export (\"format\" must be \"{ORG_EXPORT_FORMAT}\")"
                ),
            ));
        }
        let version = head.get("version").and_then(Value::as_u64);
        if version != Some(u64::from(ORG_EXPORT_VERSION)) {
            return Err(Invalid::new(
                "version",
                format!(
                    "this tutti reads version {ORG_EXPORT_VERSION} of the org export, the file is version {}",
                    version.map_or_else(|| "?".to_owned(), |v| v.to_string())
                ),
            ));
        }
        // Parsed again from the text, not the value, so an error carries its
        // line and column.
        serde_json::from_str(text).map_err(|e| at_line("file", &e))
    }

    /// How many records of each kind it holds.
    pub fn counts(&self) -> Counts {
        BTreeMap::from([
            ("members", self.members.len()),
            ("teams", self.teams.len()),
            ("providers", self.providers.len()),
            ("budgets", self.budgets.len()),
            ("objectives", self.objectives.len()),
            ("key_results", self.key_results.len()),
            ("check_ins", self.check_ins.len()),
            ("target_moves", self.target_moves.len()),
            ("service_products", self.service_products.len()),
            ("work_items", self.work_items.len()),
            ("spaces", self.spaces.len()),
            ("flows", self.flows.len()),
            ("gates", self.gates.len()),
            ("routines", self.routines.len()),
        ])
    }

    /// The first human owner with an email: the one who gets a token after
    /// an import, since tokens are not carried.
    pub fn first_owner(&self) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.kind == MemberKind::Human && m.role == Role::Owner && m.email.is_some())
    }
}

/// The document ready to be written: checked, every id fresh and every
/// reference rewritten to it, parents before their children. `text` is the
/// file it came from, so a refusal can name a line; `fresh` draws new ids
/// (called in the order of the old ones, so time order holds).
pub fn prepare_import(
    doc: &OrgExport,
    text: &str,
    mut fresh: impl FnMut() -> Uuid,
) -> ValidationResult<OrgExport> {
    parse_currency(&doc.org.currency).map_err(|e| Invalid::new("org.currency", e.message))?;
    crate::zone::parse_time_zone("org.time_zone", &doc.org.time_zone)?;
    if doc.first_owner().is_none() {
        return Err(Invalid::new(
            "members",
            "the org needs an owner who is a person with an email, to sign in after the import",
        ));
    }
    let mut emails = HashSet::new();
    for (i, member) in doc.members.iter().enumerate() {
        check_role_for_kind(member.kind, member.role)
            .map_err(|e| Invalid::new(format!("members[{i}].role"), e.message))?;
        if let Some(email) = &member.email
            && !emails.insert(email.to_lowercase())
        {
            return Err(Invalid::new(
                format!("members[{i}].email"),
                format!(
                    "{}: {email} is given to two members",
                    line_hint(text, email)
                ),
            ));
        }
    }
    let value = serde_json::to_value(doc).map_err(|e| Invalid::new("file", e.to_string()))?;
    let mut defined = Vec::new();
    collect_ids(&value, "", &mut defined, text)?;
    let mut ordered = defined.clone();
    ordered.sort();
    let ids: HashMap<Uuid, Uuid> = ordered.into_iter().map(|old| (old, fresh())).collect();
    let mut value = value;
    rewrite(&mut value, "", None, &ids, text)?;
    let mut fresh_doc: OrgExport =
        serde_json::from_value(value).map_err(|e| Invalid::new("file", e.to_string()))?;
    fresh_doc.teams = parents_first_or_refuse("teams", fresh_doc.teams, |t| t.id, |t| t.parent_id)?;
    fresh_doc.objectives = parents_first_or_refuse(
        "objectives",
        fresh_doc.objectives,
        |o| o.id,
        |o| o.parent_id,
    )?;
    fresh_doc.work_items = parents_first_or_refuse(
        "work_items",
        fresh_doc.work_items,
        |w| w.item.id,
        |w| w.item.parent_id,
    )?;
    Ok(fresh_doc)
}

/// Whether a field holds references to other records: every `…_id`, a work
/// item's `created_by`, a space's `escalate_to` and a member's `teams`.
/// (A criterion's `check_by` says who checks, by kind, and is no reference.)
fn is_reference(key: &str) -> bool {
    key.ends_with("_id") || matches!(key, "created_by" | "escalate_to" | "teams")
}

/// Maps whose keys people chose (a decision space's `attributes`: an
/// attribute may well be called `order_id`), so nothing in them is a field.
fn holds_names(key: &str) -> bool {
    key == "attributes"
}

/// Every record's `id`, refusing one given twice.
fn collect_ids(
    value: &Value,
    path: &str,
    into: &mut Vec<Uuid>,
    text: &str,
) -> ValidationResult<()> {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                let here = join(path, key);
                if key == "id" {
                    let id = as_uuid(field, &here, text)?;
                    if into.contains(&id) {
                        return Err(Invalid::new(
                            here,
                            format!(
                                "{}: the id {id} is given twice",
                                line_hint(text, &id.to_string())
                            ),
                        ));
                    }
                    into.push(id);
                } else if !holds_names(key) {
                    collect_ids(field, &here, into, text)?;
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_ids(item, &format!("{path}[{i}]"), into, text)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Replaces every id and every reference by its fresh id; a reference to a
/// record the document does not hold is refused.
fn rewrite(
    value: &mut Value,
    path: &str,
    key: Option<&str>,
    ids: &HashMap<Uuid, Uuid>,
    text: &str,
) -> ValidationResult<()> {
    let renamed = |value: &Value, path: &str| -> ValidationResult<Value> {
        let old = as_uuid(value, path, text)?;
        ids.get(&old)
            .map(|new| Value::String(new.to_string()))
            .ok_or_else(|| {
                Invalid::new(
                    path,
                    format!(
                        "{}: {old} names nothing in the file",
                        line_hint(text, &old.to_string())
                    ),
                )
            })
    };
    match value {
        Value::Object(fields) => {
            for (name, field) in fields.iter_mut() {
                let here = join(path, name);
                if name == "id" || (is_reference(name) && field.is_string()) {
                    *field = renamed(field, &here)?;
                } else if holds_names(name) {
                    continue;
                } else {
                    rewrite(field, &here, Some(name), ids, text)?;
                }
            }
        }
        Value::Array(items) => {
            let references = key.is_some_and(is_reference);
            for (i, item) in items.iter_mut().enumerate() {
                let here = format!("{path}[{i}]");
                if references && item.is_string() {
                    *item = renamed(item, &here)?;
                } else {
                    rewrite(item, &here, None, ids, text)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn as_uuid(value: &Value, path: &str, text: &str) -> ValidationResult<Uuid> {
    let raw = value.as_str().unwrap_or_default();
    Uuid::parse_str(raw).map_err(|_| {
        Invalid::new(
            path,
            format!("{}: {value} is not an id", line_hint(text, raw)),
        )
    })
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// "line N" of the first line of `text` holding `needle`, for a message.
fn line_hint(text: &str, needle: &str) -> String {
    match text
        .lines()
        .position(|line| !needle.is_empty() && line.contains(needle))
    {
        Some(i) => format!("line {}", i + 1),
        None => "the file".to_owned(),
    }
}

fn at_line(field: &str, error: &serde_json::Error) -> Invalid {
    Invalid::new(
        field,
        format!("line {}, column {}: {error}", error.line(), error.column()).replace(
            &format!(" at line {} column {}", error.line(), error.column()),
            "",
        ),
    )
}

/// `items` with every parent before its children, refusing a circle.
pub fn parents_first_or_refuse<T>(
    what: &str,
    items: Vec<T>,
    id: impl Fn(&T) -> Uuid,
    parent: impl Fn(&T) -> Option<Uuid>,
) -> ValidationResult<Vec<T>> {
    let ordered = parents_first_by(items, &id, &parent);
    let mut placed = HashSet::new();
    let all: HashSet<Uuid> = ordered.iter().map(&id).collect();
    for item in &ordered {
        if let Some(p) = parent(item)
            && all.contains(&p)
            && !placed.contains(&p)
        {
            return Err(Invalid::new(
                format!("{what}.parent_id"),
                format!("the parents of {} go round in a circle", id(item)),
            ));
        }
        placed.insert(id(item));
    }
    Ok(ordered)
}

/// Orders items so that every parent comes before its children, keeping
/// the given order otherwise; a parent not among them counts as placed, and
/// items in a circle of parents keep their order at the end.
pub fn parents_first_by<T, K: Eq + std::hash::Hash + Clone>(
    items: Vec<T>,
    key: impl Fn(&T) -> K,
    parent: impl Fn(&T) -> Option<K>,
) -> Vec<T> {
    let keys: HashSet<K> = items.iter().map(&key).collect();
    let mut placed = HashSet::new();
    let mut rest = items;
    let mut ordered = Vec::with_capacity(rest.len());
    while !rest.is_empty() {
        let before = ordered.len();
        let mut waiting = Vec::new();
        for item in rest {
            let ready = parent(&item).is_none_or(|p| !keys.contains(&p) || placed.contains(&p));
            if ready {
                placed.insert(key(&item));
                ordered.push(item);
            } else {
                waiting.push(item);
            }
        }
        if ordered.len() == before {
            ordered.extend(waiting);
            break;
        }
        rest = waiting;
    }
    ordered
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;
    use crate::org::Team;

    fn team(id: u128, parent: Option<u128>, lead: Option<u128>) -> Team {
        Team {
            id: Uuid::from_u128(id),
            name: format!("team {id}"),
            parent_id: parent.map(Uuid::from_u128),
            lead_id: lead.map(Uuid::from_u128),
            created_at: DateTime::UNIX_EPOCH,
        }
    }

    fn owner(id: u128) -> Member {
        Member {
            id: Uuid::from_u128(id),
            kind: MemberKind::Human,
            name: "Sabine".into(),
            email: Some("sabine@example.org".into()),
            role: Role::Owner,
            teams: vec![Uuid::from_u128(1)],
            role_card: None,
            provider: None,
            model: None,
            concurrency: 2,
            external: false,
            created_at: DateTime::UNIX_EPOCH,
        }
    }

    fn doc(teams: Vec<Team>) -> OrgExport {
        OrgExport {
            format: ORG_EXPORT_FORMAT.into(),
            version: ORG_EXPORT_VERSION,
            exported_at: DateTime::UNIX_EPOCH,
            org: ExportedOrg {
                name: "Lindner".into(),
                currency: "EUR".into(),
                time_zone: "Europe/Berlin".into(),
                created_at: DateTime::UNIX_EPOCH,
            },
            left_out: vec![],
            members: vec![owner(100)],
            teams,
            providers: vec![],
            budgets: vec![],
            objectives: vec![],
            key_results: vec![],
            check_ins: vec![],
            target_moves: vec![],
            service_products: vec![],
            work_items: vec![],
            spaces: vec![],
            flows: vec![],
            gates: vec![],
            routines: vec![],
        }
    }

    fn counter() -> impl FnMut() -> Uuid {
        let mut n = 1000;
        move || {
            n += 1;
            Uuid::from_u128(n)
        }
    }

    #[test]
    fn every_reference_follows_its_record_to_the_fresh_id() {
        // Team 2 (child of 1, led by the owner) is listed before its parent.
        let source = doc(vec![team(2, Some(1), Some(100)), team(1, None, None)]);
        let text = serde_json::to_string_pretty(&source).unwrap();
        let fresh = prepare_import(&source, &text, counter()).unwrap();
        // Old ids in order 1, 2, 100 became 1001, 1002, 1003.
        let ids: Vec<u128> = fresh.teams.iter().map(|t| t.id.as_u128()).collect();
        assert_eq!(ids, [1001, 1002], "parent first");
        assert_eq!(fresh.teams[1].parent_id, Some(Uuid::from_u128(1001)));
        assert_eq!(fresh.teams[1].lead_id, Some(Uuid::from_u128(1003)));
        assert_eq!(fresh.members[0].id, Uuid::from_u128(1003));
        assert_eq!(fresh.members[0].teams, [Uuid::from_u128(1001)]);
    }

    #[test]
    fn a_reference_outside_the_file_is_refused_naming_its_line() {
        let source = doc(vec![team(1, None, Some(77))]);
        let text = serde_json::to_string_pretty(&source).unwrap();
        let line = text
            .lines()
            .position(|l| l.contains(&Uuid::from_u128(77).to_string()))
            .unwrap()
            + 1;
        let refused = prepare_import(&source, &text, counter()).unwrap_err();
        assert_eq!(refused.field, "teams[0].lead_id");
        assert!(
            refused.message.starts_with(&format!("line {line}:")),
            "{}",
            refused.message
        );
    }

    #[test]
    fn an_attribute_named_like_a_reference_is_left_alone() {
        let mut source = doc(vec![team(1, None, None)]);
        source.spaces.push(DecisionSpace {
            id: Uuid::from_u128(5),
            name: "Rabatte".into(),
            team_id: Some(Uuid::from_u128(1)),
            objective_id: None,
            principles: vec![],
            policy: String::new(),
            attributes: BTreeMap::from([(
                "order_id".to_owned(),
                crate::decision::AttributeType::String,
            )]),
            quorum: 1,
            escalate_after_secs: None,
            escalate_to: None,
            version: 1,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        });
        let text = serde_json::to_string_pretty(&source).unwrap();
        let fresh = prepare_import(&source, &text, counter()).unwrap();
        assert_eq!(fresh.spaces[0].attributes, source.spaces[0].attributes);
        assert_eq!(fresh.spaces[0].team_id, Some(fresh.teams[0].id));
    }

    #[test]
    fn a_circle_of_parents_is_refused() {
        let source = doc(vec![team(1, Some(2), None), team(2, Some(1), None)]);
        let text = serde_json::to_string(&source).unwrap();
        let refused = prepare_import(&source, &text, counter()).unwrap_err();
        assert_eq!(refused.field, "teams.parent_id");
    }

    #[test]
    fn a_twice_given_id_and_a_missing_owner_are_refused() {
        let source = doc(vec![team(1, None, None), team(1, None, None)]);
        let text = serde_json::to_string(&source).unwrap();
        assert!(
            prepare_import(&source, &text, counter())
                .unwrap_err()
                .message
                .contains("twice")
        );
        let mut ownerless = doc(vec![]);
        ownerless.members[0].role = Role::Admin;
        let refused = prepare_import(&ownerless, "", counter()).unwrap_err();
        assert_eq!(refused.field, "members");
    }

    #[test]
    fn a_malformed_file_names_its_line_and_another_format_is_refused() {
        let text = "{\n  \"format\": \"tutti.org\",\n  \"version\": 1,\n  \"org\": {,\n}";
        let refused = OrgExport::parse(text).unwrap_err();
        assert!(
            refused.message.starts_with("line 4, column"),
            "{}",
            refused.message
        );
        let refused = OrgExport::parse("{\"format\": \"jira\"}").unwrap_err();
        assert_eq!(refused.field, "format");
        let refused = OrgExport::parse("{\"format\": \"tutti.org\", \"version\": 9}").unwrap_err();
        assert!(refused.message.contains("version 9"), "{}", refused.message);
        let mut typo = serde_json::to_value(doc(vec![])).unwrap();
        typo["teamz"] = Value::Array(vec![]);
        let text = serde_json::to_string_pretty(&typo).unwrap();
        let refused = OrgExport::parse(&text).unwrap_err();
        assert!(refused.message.contains("teamz"), "{}", refused.message);
    }

    #[test]
    fn the_document_reads_back_what_it_wrote() {
        let source = doc(vec![team(1, None, Some(100))]);
        let text = serde_json::to_string_pretty(&source).unwrap();
        assert_eq!(OrgExport::parse(&text).unwrap(), source);
    }
}
