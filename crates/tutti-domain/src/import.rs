//! Work brought in from elsewhere: a Jira project, from its CSV export or
//! from saved responses of Jira's `/rest/api/3/search/jql`.
//!
//! The parsers read what Jira writes and nothing else: columns by their
//! header name (Jira repeats `Labels` once per label), its dates
//! (`14/Jul/25 3:42 PM`), a byte-order mark and CRLF line ends; an issue's
//! description in Atlassian Document Format becomes plain text. Each issue
//! becomes an [`ImportedItem`] keyed by its Jira key, so importing the same
//! file again updates rather than duplicates. A file that cannot be read is
//! refused naming the line (CSV) or the issue (JSON), before anything is
//! written.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::validate::{Invalid, ValidationResult};
use crate::work::WorkState;

/// An issue as tutti takes it in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportedItem {
    /// The key elsewhere (`ABC-12`): a re-import with the same key updates.
    pub key: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub state: WorkState,
    /// Matched to a member by email (or by name when no email is given).
    #[serde(default)]
    pub assignee: Option<String>,
    /// The parent's key (an epic, or a sub-task's story).
    #[serde(default)]
    pub parent_key: Option<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub due: Option<NaiveDate>,
    /// Left as it is in tutti when not given.
    #[serde(default)]
    pub priority: Option<crate::work::Priority>,
    /// What the file does not say (a sheet without that column): a
    /// re-import leaves it as it is in tutti instead of clearing it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep: Vec<ItemField>,
}

crate::text_enum! {
    /// A field of an imported item a file may leave out.
    ItemField { Description => "description", State => "state", Assignee => "assignee", Parent => "parent", Due => "due" }
}

/// What a re-imported item's fields become: the file's, except those it
/// does not give (`keep`), which stay as `before` has them.
pub struct Merged<T> {
    pub description: String,
    pub state: WorkState,
    pub assignee: Option<T>,
    pub parent: Option<T>,
    pub due: Option<NaiveDate>,
}

impl ImportedItem {
    pub fn keeps(&self, field: ItemField) -> bool {
        self.keep.contains(&field)
    }

    /// The file's values, with what it leaves out taken from `before`.
    pub fn merged<T>(&self, before: Merged<T>, given: Merged<T>) -> Merged<T> {
        Merged {
            description: if self.keeps(ItemField::Description) {
                before.description
            } else {
                given.description
            },
            state: if self.keeps(ItemField::State) {
                before.state
            } else {
                given.state
            },
            assignee: if self.keeps(ItemField::Assignee) {
                before.assignee
            } else {
                given.assignee
            },
            parent: if self.keeps(ItemField::Parent) {
                before.parent
            } else {
                given.parent
            },
            due: if self.keeps(ItemField::Due) {
                before.due
            } else {
                given.due
            },
        }
    }
}

impl ImportedItem {
    /// The description tutti keeps: the file's, then, from Jira, where it
    /// came from, and its labels (tutti's work items have no labels of their
    /// own).
    pub fn full_description(&self, source: &str) -> String {
        let mut origin = if source == "jira" {
            format!("Jira: {}", self.key)
        } else {
            String::new()
        };
        if !self.labels.is_empty() {
            let labels = format!("Labels: {}", self.labels.join(", "));
            origin = if origin.is_empty() {
                labels
            } else {
                format!("{origin} · {labels}")
            };
        }
        if origin.is_empty() {
            self.description.trim_end().to_owned()
        } else if self.description.trim().is_empty() {
            origin
        } else {
            format!("{}\n\n{origin}", self.description.trim_end())
        }
    }
}

/// The tutti id a key names, when it is one (a row of `tutti export work`
/// keyed by its id), so a re-import of an export updates the same items;
/// the nil id, which names nothing, otherwise.
pub fn id_of_key(key: &str) -> Uuid {
    Uuid::parse_str(key.trim()).unwrap_or_else(|_| Uuid::nil())
}

/// The most items one import call takes.
pub const IMPORT_MAX: usize = 5_000;

/// Whether one call may bring `count` items from `source` (`jira`): a
/// named source and at most [`IMPORT_MAX`] items; the CLI sends batches.
pub fn check_import(source: &str, count: usize) -> ValidationResult<String> {
    if count > IMPORT_MAX {
        return Err(Invalid::new(
            "items",
            format!("at most {IMPORT_MAX} items per call; send the rest in another"),
        ));
    }
    crate::validate::text("source", source, 40)
}

/// An imported item's assignee among the org's people (`id`, `email`,
/// `name`): by email, else by name (Jira's CSV names people, its REST API
/// gives their email). Only people: an import never puts work in an AI
/// worker's hands, which would queue a run.
pub fn match_person(people: &[(Uuid, Option<String>, String)], who: &str) -> Option<Uuid> {
    let who = who.trim();
    let by_email = people.iter().find(|(_, email, _)| {
        email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(who))
    });
    by_email
        .or_else(|| {
            people
                .iter()
                .find(|(_, _, name)| name.eq_ignore_ascii_case(who))
        })
        .map(|(id, _, _)| *id)
}

/// The state and assignee an item imported before takes on a re-import:
/// the import's, unless a lead has since handed it to an AI worker in
/// tutti (its assignee is not one of `people`), which keeps both: a run
/// may be going.
pub fn reimported(
    current: (WorkState, Option<Uuid>),
    imported: (WorkState, Option<Uuid>),
    people: &[(Uuid, Option<String>, String)],
) -> (WorkState, Option<Uuid>) {
    let with_ai = current
        .1
        .is_some_and(|id| !people.iter().any(|(person, _, _)| *person == id));
    if with_ai { current } else { imported }
}

/// Orders items so that every parent comes before its children (epics,
/// then stories, then sub-tasks), keeping the file's order otherwise; a
/// parent not in the list counts as already there.
pub fn parents_first(items: Vec<ImportedItem>) -> Vec<ImportedItem> {
    crate::transfer::parents_first_by(items, |i| i.key.clone(), |i| i.parent_key.clone())
}

/// Jira's status category as tutti's state: `new` waits (`backlog`),
/// `indeterminate` is being worked on (`running`), `done` is done.
pub fn state_of_category(category: &str) -> Option<WorkState> {
    match category.trim().to_ascii_lowercase().as_str() {
        "new" | "to do" | "todo" => Some(WorkState::Backlog),
        "indeterminate" | "in progress" => Some(WorkState::Running),
        "done" => Some(WorkState::Done),
        _ => None,
    }
}

/// A status name as Jira's default workflows name them, when the export
/// has no status category column.
fn state_of_status(status: &str) -> WorkState {
    match status.trim().to_ascii_lowercase().as_str() {
        "done" | "closed" | "resolved" | "erledigt" | "fertig" => WorkState::Done,
        "in progress" | "in review" | "in arbeit" | "review" => WorkState::Running,
        "blocked" | "blockiert" => WorkState::Blocked,
        _ => WorkState::Backlog,
    }
}

/// A date as Jira writes it: `14/Jul/25 3:42 PM` (its CSV default), with or
/// without the time, or ISO `2025-07-14` (the REST API's `duedate`).
pub fn parse_jira_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(date);
    }
    for format in ["%d/%b/%y %I:%M %p", "%d/%b/%Y %I:%M %p", "%d/%b/%y %H:%M"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Some(at.date());
        }
    }
    for format in ["%d/%b/%y", "%d/%b/%Y"] {
        if let Ok(date) = NaiveDate::parse_from_str(text, format) {
            return Some(date);
        }
    }
    None
}

/// The line a CSV record starting at `byte` starts on, as an editor shows
/// it (the csv reader counts records, and a cell may span lines).
pub(crate) fn record_line(text: &str, byte: u64) -> u64 {
    let bytes = text.as_bytes();
    let mut end = usize::try_from(byte).unwrap_or(usize::MAX).min(bytes.len());
    // With CRLF the reader stops at the CR: the record starts after the
    // line end.
    while end < bytes.len() && matches!(bytes[end], b'\r' | b'\n') {
        end += 1;
    }
    bytes[..end].iter().filter(|b| **b == b'\n').count() as u64 + 1
}

pub(crate) fn at_line(line: u64, message: impl Into<String>) -> Invalid {
    Invalid::new(format!("line {line}"), message)
}

/// Reads a Jira CSV export. Columns by header: `Issue key` and `Summary`
/// (required), `Description`, `Status Category` (else `Status`),
/// `Assignee`, `Parent` / `Parent key` (a key) or `Parent id` (an `Issue id`),
/// every `Labels` column, `Due date` (or `Due Date`).
pub fn parse_jira_csv(text: &str) -> ValidationResult<Vec<ImportedItem>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| at_line(1, format!("the header cannot be read: {e}")))?
        .clone();
    let find = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    };
    let all = |name: &str| -> Vec<usize> {
        headers
            .iter()
            .enumerate()
            .filter(|(_, h)| h.trim().eq_ignore_ascii_case(name))
            .map(|(i, _)| i)
            .collect()
    };
    let key_column = find(&["Issue key"])
        .ok_or_else(|| at_line(1, "no `Issue key` column: is this a Jira CSV export?"))?;
    let summary_column = find(&["Summary"]).ok_or_else(|| at_line(1, "no `Summary` column"))?;
    let description = find(&["Description"]);
    let category = find(&["Status Category"]);
    let status = find(&["Status"]);
    let assignee = find(&["Assignee"]);
    let parent_key = find(&["Parent key", "Parent"]);
    let parent_id = find(&["Parent id"]);
    let issue_id = find(&["Issue id"]);
    let labels = all("Labels");
    let due = find(&["Due date", "Due Date"]);

    let mut items = Vec::new();
    let mut ids = std::collections::HashMap::new();
    let mut parent_ids = Vec::new();
    for record in reader.records() {
        let line_at = |byte: u64| record_line(text, byte);
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| line_at(p.byte()));
            at_line(line, format!("cannot be read: {e}"))
        })?;
        let line = record.position().map_or(0, |p| line_at(p.byte()));
        let cell = |column: Option<usize>| {
            column
                .and_then(|c| record.get(c))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let key = cell(Some(key_column))
            .ok_or_else(|| at_line(line, "the issue has no key"))?
            .to_owned();
        let title = cell(Some(summary_column))
            .ok_or_else(|| at_line(line, format!("{key} has no summary")))?
            .to_owned();
        let state = match (cell(category), cell(status)) {
            (Some(c), _) => state_of_category(c).ok_or_else(|| {
                at_line(
                    line,
                    format!("{key}: unknown status category `{c}` (To Do, In Progress, Done)"),
                )
            })?,
            (None, Some(s)) => state_of_status(s),
            (None, None) => WorkState::Backlog,
        };
        let due = match cell(due) {
            Some(text) => Some(parse_jira_date(text).ok_or_else(|| {
                at_line(
                    line,
                    format!("{key}: `{text}` is not a date like 14/Jul/25 3:42 PM"),
                )
            })?),
            None => None,
        };
        if let Some(id) = cell(issue_id) {
            ids.insert(id.to_owned(), key.clone());
        }
        let parent = cell(parent_key)
            .filter(|p| p.contains('-'))
            .map(str::to_owned);
        let parent_by_id = cell(parent_id)
            .or_else(|| cell(parent_key).filter(|p| !p.contains('-')))
            .map(str::to_owned);
        parent_ids.push((items.len(), parent_by_id, line));
        items.push(ImportedItem {
            key,
            title,
            // Line ends as tutti keeps them (a CR is a control character).
            description: cell(description).unwrap_or_default().replace("\r\n", "\n"),
            state,
            assignee: cell(assignee).map(str::to_owned),
            parent_key: parent,
            labels: labels
                .iter()
                .filter_map(|&c| record.get(c))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            due,
            priority: None,
            keep: Vec::new(),
        });
    }
    // A parent named by its numeric id is looked up among the file's issues.
    for (index, parent, line) in parent_ids {
        if let Some(id) = parent {
            let key = ids.get(&id).ok_or_else(|| {
                at_line(
                    line,
                    format!("the parent id {id} is not an issue in this file"),
                )
            })?;
            items[index].parent_key = Some(key.clone());
        }
    }
    Ok(items)
}

/// Reads saved responses of Jira's `/rest/api/3/search/jql`: one response
/// (`{"issues": [...]}`) or an array of them (one per page).
pub fn parse_jira_search(text: &str) -> ValidationResult<Vec<ImportedItem>> {
    let value: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| Invalid::new(format!("line {}", e.line()), format!("not JSON: {e}")))?;
    let pages = match value {
        Value::Array(pages) => pages,
        page => vec![page],
    };
    let mut items = Vec::new();
    for (p, page) in pages.iter().enumerate() {
        let issues = page
            .get("issues")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                Invalid::new(
                    format!("page {}", p + 1),
                    "no `issues` array: is this a search/jql response?",
                )
            })?;
        for (i, issue) in issues.iter().enumerate() {
            let at =
                |message: String| Invalid::new(format!("page {} issue {}", p + 1, i + 1), message);
            let key = issue
                .get("key")
                .and_then(Value::as_str)
                .ok_or_else(|| at("the issue has no `key`".into()))?
                .to_owned();
            let fields = issue
                .get("fields")
                .ok_or_else(|| at(format!("{key} has no `fields` (ask for summary,status,assignee,parent,labels,duedate,description)")))?;
            let title = fields
                .get("summary")
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| at(format!("{key} has no summary")))?
                .trim()
                .to_owned();
            let category = fields
                .pointer("/status/statusCategory/key")
                .and_then(Value::as_str);
            let state = match category {
                Some(c) => state_of_category(c)
                    .ok_or_else(|| at(format!("{key}: unknown status category `{c}`")))?,
                None => WorkState::Backlog,
            };
            let due = match fields.get("duedate").and_then(Value::as_str) {
                Some(text) => Some(
                    parse_jira_date(text)
                        .ok_or_else(|| at(format!("{key}: `{text}` is not a date")))?,
                ),
                None => None,
            };
            items.push(ImportedItem {
                key,
                title,
                description: fields
                    .get("description")
                    .map(adf_to_text)
                    .unwrap_or_default(),
                state,
                assignee: fields
                    .pointer("/assignee/emailAddress")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                parent_key: fields
                    .pointer("/parent/key")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                labels: fields
                    .get("labels")
                    .and_then(Value::as_array)
                    .map(|ls| {
                        ls.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                due,
                priority: None,
                keep: Vec::new(),
            });
        }
    }
    Ok(items)
}

/// Atlassian Document Format as plain text: paragraphs and headings on
/// lines of their own, list items with a dash, hard breaks, code, mentions
/// and links by their text. A plain string (API v2) is kept as it is.
pub fn adf_to_text(node: &Value) -> String {
    let mut out = String::new();
    write_adf(node, &mut out);
    out.trim().to_owned()
}

fn write_adf(node: &Value, out: &mut String) {
    if let Some(text) = node.as_str() {
        out.push_str(text);
        return;
    }
    let children = |out: &mut String| {
        if let Some(content) = node.get("content").and_then(Value::as_array) {
            for child in content {
                write_adf(child, out);
            }
        }
    };
    match node.get("type").and_then(Value::as_str).unwrap_or("") {
        "text" => out.push_str(node.get("text").and_then(Value::as_str).unwrap_or("")),
        "hardBreak" => out.push('\n'),
        "mention" | "emoji" => out.push_str(
            node.pointer("/attrs/text")
                .and_then(Value::as_str)
                .unwrap_or(""),
        ),
        "inlineCard" | "blockCard" => out.push_str(
            node.pointer("/attrs/url")
                .and_then(Value::as_str)
                .unwrap_or(""),
        ),
        "listItem" => {
            out.push_str("- ");
            let mut item = String::new();
            if let Some(content) = node.get("content").and_then(Value::as_array) {
                for child in content {
                    write_adf(child, &mut item);
                }
            }
            out.push_str(item.trim());
            out.push('\n');
        }
        "paragraph" | "heading" | "codeBlock" | "blockquote" => {
            children(out);
            out.push_str("\n\n");
        }
        "bulletList" | "orderedList" => {
            children(out);
            out.push('\n');
        }
        _ => children(out),
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn a_csv_export_is_read_by_header_with_repeated_labels_bom_and_crlf() {
        let csv = "\u{feff}Summary,Issue key,Issue id,Issue Type,Status,Status Category,Assignee,Labels,Labels,Due date,Parent id,Description\r\n\
                   Wartung 2026,WART-1,10001,Epic,In Arbeit,In Progress,,wartung,,,,\"Alle Verträge\r\nbis März\"\r\n\
                   Familie Hoffmann,WART-2,10002,Story,Done,Done,jonas@lindner.de,wartung,premium,14/Jul/25 3:42 PM,10001,\r\n";
        let items = parse_jira_csv(csv).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].key, "WART-1");
        assert_eq!(items[0].state, WorkState::Running);
        assert_eq!(items[0].description, "Alle Verträge\nbis März");
        assert_eq!(items[1].labels, ["wartung", "premium"]);
        assert_eq!(items[1].due, NaiveDate::from_ymd_opt(2025, 7, 14));
        assert_eq!(items[1].parent_key.as_deref(), Some("WART-1"));
        assert_eq!(items[1].assignee.as_deref(), Some("jonas@lindner.de"));
        assert_eq!(items[1].state, WorkState::Done);
    }

    #[test]
    fn a_bad_csv_names_its_line() {
        let no_key = "Summary,Status\nA,Done\n";
        assert!(
            parse_jira_csv(no_key)
                .unwrap_err()
                .message
                .contains("Issue key")
        );
        for end in ["\n", "\r\n"] {
            let bad_date = format!(
                "Issue key,Summary,Due date,Description{end}A-1,Eins,14/Jul/25,\"zwei{end}Zeilen\"{end}A-2,Zwei,31/Feb/25,{end}"
            );
            let refused = parse_jira_csv(&bad_date).unwrap_err();
            assert_eq!(refused.field, "line 4", "{end:?}: {refused:?}");
        }
        let orphan = "Issue key,Issue id,Summary,Parent id\nA-1,1,Eins,99\n";
        assert!(parse_jira_csv(orphan).unwrap_err().message.contains("99"));
    }

    #[test]
    fn jira_dates_in_its_formats() {
        let july = NaiveDate::from_ymd_opt(2025, 7, 14);
        for text in [
            "14/Jul/25 3:42 PM",
            "14/Jul/25",
            "2025-07-14",
            "14/Jul/2025 11:05 AM",
        ] {
            assert_eq!(parse_jira_date(text), july, "{text}");
        }
        assert_eq!(parse_jira_date("nächste Woche"), None);
    }

    #[test]
    fn a_search_response_with_adf_descriptions() {
        let page = json!({ "issues": [
            { "key": "WART-7", "fields": {
                "summary": "Heizung prüfen",
                "status": { "name": "Zu erledigen", "statusCategory": { "key": "new" } },
                "assignee": { "emailAddress": "aylin@lindner.de" },
                "parent": { "key": "WART-1" },
                "labels": ["vor-ort"],
                "duedate": "2026-03-17",
                "description": { "type": "doc", "version": 1, "content": [
                    { "type": "heading", "content": [{ "type": "text", "text": "Auftrag" }] },
                    { "type": "paragraph", "content": [
                        { "type": "text", "text": "Brenner reinigen," }, { "type": "hardBreak" },
                        { "type": "mention", "attrs": { "text": "@Jonas" } }, { "type": "text", "text": " fragen." }] },
                    { "type": "bulletList", "content": [
                        { "type": "listItem", "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": "Filter" }] }] },
                        { "type": "listItem", "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": "Dichtung" }] }] }] }
                ] } } }
        ] });
        let items = parse_jira_search(&json!([page]).to_string()).unwrap();
        let item = &items[0];
        assert_eq!(item.state, WorkState::Backlog);
        assert_eq!(item.parent_key.as_deref(), Some("WART-1"));
        assert_eq!(
            item.description,
            "Auftrag\n\nBrenner reinigen,\n@Jonas fragen.\n\n- Filter\n- Dichtung"
        );
        assert_eq!(
            item.full_description("jira"),
            format!("{}\n\nJira: WART-7 · Labels: vor-ort", item.description)
        );
        let refused =
            parse_jira_search(r#"{"issues": [{"key": "X-1", "fields": {}}]}"#).unwrap_err();
        assert_eq!(refused.field, "page 1 issue 1");
        assert_eq!(
            parse_jira_search("{\n  \"issues\": [,\n")
                .unwrap_err()
                .field,
            "line 2"
        );
    }

    #[test]
    fn people_are_matched_by_email_then_name_and_ai_work_is_kept() {
        let (jonas, aylin, emil) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let people = vec![
            (
                jonas,
                Some("jonas@lindner.de".to_owned()),
                "Jonas".to_owned(),
            ),
            (aylin, None, "Aylin".to_owned()),
        ];
        assert_eq!(match_person(&people, " JONAS@lindner.de "), Some(jonas));
        assert_eq!(match_person(&people, "aylin"), Some(aylin));
        assert_eq!(match_person(&people, "Emil"), None);
        let imported = (WorkState::Done, Some(jonas));
        assert_eq!(
            reimported((WorkState::Ready, Some(emil)), imported, &people),
            (WorkState::Ready, Some(emil))
        );
        assert_eq!(
            reimported((WorkState::Ready, Some(aylin)), imported, &people),
            imported
        );
        assert_eq!(
            reimported((WorkState::Backlog, None), imported, &people),
            imported
        );
        assert_eq!(check_import("jira", IMPORT_MAX).unwrap(), "jira");
        assert_eq!(
            check_import("jira", IMPORT_MAX + 1).unwrap_err().field,
            "items"
        );
        assert_eq!(check_import(" ", 1).unwrap_err().field, "source");
    }

    #[test]
    fn parents_come_first() {
        let item = |key: &str, parent: Option<&str>| ImportedItem {
            key: key.into(),
            title: key.into(),
            description: String::new(),
            state: WorkState::Backlog,
            assignee: None,
            parent_key: parent.map(Into::into),
            labels: vec![],
            due: None,
            priority: None,
            keep: Vec::new(),
        };
        let ordered = parents_first(vec![
            item("A-3", Some("A-2")),
            item("A-2", Some("A-1")),
            item("A-1", None),
            item("A-4", Some("X-9")),
        ]);
        let keys: Vec<&str> = ordered.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["A-1", "A-4", "A-2", "A-3"]);
    }
}
