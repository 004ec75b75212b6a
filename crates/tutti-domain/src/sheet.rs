//! Work items and objectives as a spreadsheet holds them: CSV written by
//! `tutti export work` / `objectives` and read back by `tutti import`.
//!
//! Columns are found by their header, so a sheet may reorder them, drop the
//! optional ones or add its own; people, teams, parents and key results go
//! by name (a person by email, else by name), as a spreadsheet shows them.
//! A row that cannot be read is refused naming its line (as an editor
//! counts lines) before anything is written.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::import::{ImportedItem, ItemField, at_line, record_line};
use crate::strategy::{KeyResult, Objective, ObjectiveStatus, check_period, parse_confidence};
use crate::validate::{Invalid, TITLE_MAX, ValidationResult, text};
use crate::work::{WorkItem, WorkState};

/// The columns of a work sheet, in the order `work_csv` writes them; `key`
/// and `title` are required when reading, the rest optional, and
/// `kind`, `team`, `key_result`, `service_product`, `created_at` and
/// `updated_at` are for reading only (an import puts work in one team).
pub const WORK_COLUMNS: [&str; 14] = [
    "key",
    "title",
    "description",
    "state",
    "priority",
    "kind",
    "due",
    "assignee",
    "team",
    "parent",
    "key_result",
    "service_product",
    "created_at",
    "updated_at",
];

/// The columns of an objectives sheet, a row per key result (an objective
/// without key results has one row with the key-result cells empty).
pub const OBJECTIVE_COLUMNS: [&str; 14] = [
    "objective",
    "why",
    "status",
    "period_start",
    "period_end",
    "owner",
    "team",
    "parent",
    "key_result",
    "baseline",
    "target",
    "current",
    "unit",
    "confidence",
];

/// A work item with the names a sheet shows for what it refers to.
#[derive(Debug, Clone)]
pub struct WorkRow {
    pub item: WorkItem,
    /// Its key elsewhere (a Jira key), else its tutti id.
    pub key: String,
    /// The assignee's email, else their name.
    pub assignee: Option<String>,
    pub team: Option<String>,
    /// The parent's key, as the parent's own row gives it.
    pub parent: Option<String>,
    pub key_result: Option<String>,
    pub service_product: Option<String>,
}

/// An objective and one of its key results (or none), with names.
pub struct ObjectiveRow<'a> {
    pub objective: &'a Objective,
    pub owner: Option<String>,
    pub team: Option<String>,
    /// The parent objective's title.
    pub parent: Option<String>,
    pub key_result: Option<&'a KeyResult>,
}

fn written<const N: usize>(rows: Vec<[String; N]>, header: [&str; N]) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail; a failure would lose no data.
    let _ = out.write_record(header);
    for row in rows {
        let _ = out.write_record(&row);
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Text as a cell of a sheet: one that a spreadsheet would take for a
/// formula (`=`, `+`, `-`, `@`, a tab or a carriage return first) gets a
/// leading `'`, so opening an export runs nothing; reading strips it again.
fn guarded(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// A cell as written, without the guard `guarded` put before it.
fn unguarded(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
    }
}

fn or_empty(value: Option<&str>) -> String {
    guarded(value.unwrap_or_default())
}

/// The work sheet.
pub fn work_csv(rows: &[WorkRow]) -> String {
    written(
        rows.iter()
            .map(|r| {
                [
                    guarded(&r.key),
                    guarded(&r.item.title),
                    guarded(&r.item.description),
                    r.item.state.as_str().to_owned(),
                    r.item.priority.as_str().to_owned(),
                    r.item.kind.as_str().to_owned(),
                    r.item.due.map(|d| d.to_string()).unwrap_or_default(),
                    or_empty(r.assignee.as_deref()),
                    or_empty(r.team.as_deref()),
                    or_empty(r.parent.as_deref()),
                    or_empty(r.key_result.as_deref()),
                    or_empty(r.service_product.as_deref()),
                    r.item.created_at.to_rfc3339(),
                    r.item.updated_at.to_rfc3339(),
                ]
            })
            .collect(),
        WORK_COLUMNS,
    )
}

/// The columns of the leverage view's sheet.
pub const LEVERAGE_COLUMNS: [&str; 10] = [
    "group",
    "tokens",
    "cost",
    "accepted",
    "cycle_hours",
    "key_results",
    "points_moved",
    "cost_per_point",
    "moves_nothing",
    "key",
];

/// The leverage view as a sheet, one row per group and the org's total
/// last (group `total`); money as decimals of the org's currency.
pub fn leverage_csv(leverage: &crate::labour::leverage::Leverage, none: &str) -> String {
    use crate::labour::format_money;
    let row = |r: &crate::labour::leverage::LeverageRow, group: String| {
        [
            guarded(&group),
            r.tokens.to_string(),
            format_money(r.cost),
            r.accepted.to_string(),
            r.cycle_hours.map(|h| format!("{h:.1}")).unwrap_or_default(),
            r.key_results.to_string(),
            format!("{:.2}", r.points_moved),
            r.cost_per_point.map(format_money).unwrap_or_default(),
            r.moves_nothing.to_string(),
            r.key.clone().unwrap_or_default(),
        ]
    };
    let mut rows: Vec<_> = leverage
        .rows
        .iter()
        .map(|r| row(r, r.label.clone().unwrap_or_else(|| none.to_owned())))
        .collect();
    rows.push(row(&leverage.total, "total".into()));
    written(rows, LEVERAGE_COLUMNS)
}

/// The objectives sheet.
pub fn objectives_csv(rows: &[ObjectiveRow<'_>]) -> String {
    written(
        rows.iter()
            .map(|r| {
                let o = r.objective;
                let k = r.key_result;
                [
                    guarded(&o.title),
                    guarded(&o.why),
                    o.status.as_str().to_owned(),
                    o.period_start.to_string(),
                    o.period_end.to_string(),
                    or_empty(r.owner.as_deref()),
                    or_empty(r.team.as_deref()),
                    or_empty(r.parent.as_deref()),
                    or_empty(k.map(|k| k.title.as_str())),
                    k.map(|k| k.baseline.to_string()).unwrap_or_default(),
                    k.map(|k| k.target.to_string()).unwrap_or_default(),
                    k.map(|k| k.current.to_string()).unwrap_or_default(),
                    or_empty(k.map(|k| k.unit.as_str())),
                    k.map(|k| k.confidence.to_string()).unwrap_or_default(),
                ]
            })
            .collect(),
        OBJECTIVE_COLUMNS,
    )
}

/// A sheet read: its header's columns by lowercase name, and each record
/// with the line it starts on.
struct Sheet {
    columns: HashMap<String, usize>,
    records: Vec<(u64, csv::StringRecord)>,
}

impl Sheet {
    fn read(text: &str, required: &[&str]) -> ValidationResult<Self> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| at_line(1, format!("the header cannot be read: {e}")))?;
        let columns: HashMap<String, usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim().to_lowercase(), i))
            .collect();
        for name in required {
            if !columns.contains_key(*name) {
                return Err(at_line(1, format!("no `{name}` column")));
            }
        }
        let mut records = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| record_line(text, p.byte()));
                at_line(line, format!("cannot be read: {e}"))
            })?;
            let line = record.position().map_or(0, |p| record_line(text, p.byte()));
            if record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            records.push((line, record));
        }
        Ok(Self { columns, records })
    }

    /// The trimmed, non-empty cell of `column` in `record`, unguarded.
    fn cell<'r>(&self, record: &'r csv::StringRecord, column: &str) -> Option<&'r str> {
        self.columns
            .get(column)
            .and_then(|&c| record.get(c))
            .map(|v| unguarded(v.trim()))
            .filter(|v| !v.is_empty())
    }
}

fn parsed<T: FromStr>(line: u64, column: &str, value: Option<&str>) -> ValidationResult<Option<T>>
where
    T::Err: std::fmt::Display,
{
    value
        .map(|v| {
            v.parse()
                .map_err(|e: T::Err| at_line(line, format!("{column}: {e}")))
        })
        .transpose()
}

fn date(line: u64, column: &str, value: Option<&str>) -> ValidationResult<Option<NaiveDate>> {
    value
        .map(|v| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                at_line(
                    line,
                    format!("{column}: `{v}` is not a date like 2026-03-17"),
                )
            })
        })
        .transpose()
}

/// Reads a work sheet into items keyed by their `key` (an id from tutti,
/// or a key from elsewhere): importing it again updates them.
pub fn parse_work_csv(text: &str) -> ValidationResult<Vec<ImportedItem>> {
    let sheet = Sheet::read(text, &["key", "title"])?;
    // A column the sheet leaves out changes nothing on a re-import.
    let keep: Vec<ItemField> = [
        ("description", ItemField::Description),
        ("state", ItemField::State),
        ("assignee", ItemField::Assignee),
        ("parent", ItemField::Parent),
        ("due", ItemField::Due),
    ]
    .into_iter()
    .filter(|(column, _)| !sheet.columns.contains_key(*column))
    .map(|(_, field)| field)
    .collect();
    let mut items = Vec::new();
    for (line, record) in &sheet.records {
        let line = *line;
        let cell = |column: &str| sheet.cell(record, column);
        let key = cell("key")
            .ok_or_else(|| at_line(line, "the row has no key"))?
            .to_owned();
        let title = cell("title")
            .ok_or_else(|| at_line(line, format!("{key} has no title")))?
            .to_owned();
        items.push(ImportedItem {
            key,
            title,
            description: cell("description")
                .unwrap_or_default()
                .replace("\r\n", "\n"),
            state: parsed::<WorkState>(line, "state", cell("state"))?.unwrap_or(WorkState::Backlog),
            assignee: cell("assignee").map(str::to_owned),
            parent_key: cell("parent").map(str::to_owned),
            labels: cell("labels")
                .map(|l| {
                    l.split(',')
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            due: date(line, "due", cell("due"))?,
            priority: parsed(line, "priority", cell("priority"))?,
            keep: keep.clone(),
        });
    }
    Ok(items)
}

/// An objective read from a sheet, with its key results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SheetObjective {
    pub title: String,
    #[serde(default)]
    pub why: String,
    #[serde(default = "active")]
    pub status: ObjectiveStatus,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// A person, by email or name.
    #[serde(default)]
    pub owner: Option<String>,
    /// A team, by name.
    #[serde(default)]
    pub team: Option<String>,
    /// The parent objective, by title: one in the same sheet, or the org's.
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub key_results: Vec<SheetKeyResult>,
}

fn active() -> ObjectiveStatus {
    ObjectiveStatus::Active
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SheetKeyResult {
    pub title: String,
    pub baseline: f64,
    pub target: f64,
    /// The baseline when not given.
    #[serde(default)]
    pub current: Option<f64>,
    #[serde(default)]
    pub unit: String,
    #[serde(default = "middling")]
    pub confidence: u8,
}

fn middling() -> u8 {
    5
}

impl SheetObjective {
    /// Whether it holds: a title and a period, key results with a title,
    /// finite numbers and a confidence of 0–10. `at` names where it came
    /// from ("objectives[3]").
    pub fn check(&self, at: &str) -> ValidationResult<()> {
        text(&format!("{at}.title"), &self.title, TITLE_MAX)?;
        check_period(self.period_start, self.period_end)
            .map_err(|e| Invalid::new(format!("{at}.period_end"), e.message))?;
        for (i, kr) in self.key_results.iter().enumerate() {
            let here = format!("{at}.key_results[{i}]");
            text(&format!("{here}.title"), &kr.title, TITLE_MAX)?;
            let numbers = [Some(kr.baseline), Some(kr.target), kr.current];
            if numbers.iter().flatten().any(|n| !n.is_finite()) {
                return Err(Invalid::new(
                    here,
                    "baseline, target and current must be numbers",
                ));
            }
            parse_confidence(i64::from(kr.confidence))
                .map_err(|e| Invalid::new(format!("{here}.confidence"), e.message))?;
        }
        Ok(())
    }
}

/// Reads an objectives sheet: consecutive rows with the same objective
/// (title and period) are one objective, each row's key result one of its
/// key results.
pub fn parse_objectives_csv(text: &str) -> ValidationResult<Vec<SheetObjective>> {
    let sheet = Sheet::read(text, &["objective", "period_start", "period_end"])?;
    let mut objectives: Vec<SheetObjective> = Vec::new();
    for (line, record) in &sheet.records {
        let line = *line;
        let cell = |column: &str| sheet.cell(record, column);
        let title = cell("objective")
            .ok_or_else(|| at_line(line, "the row names no objective"))?
            .to_owned();
        let start = date(line, "period_start", cell("period_start"))?
            .ok_or_else(|| at_line(line, "period_start is empty"))?;
        let end = date(line, "period_end", cell("period_end"))?
            .ok_or_else(|| at_line(line, "period_end is empty"))?;
        let same = objectives
            .last()
            .is_some_and(|o| o.title == title && o.period_start == start && o.period_end == end);
        if !same {
            objectives.push(SheetObjective {
                title,
                why: cell("why").unwrap_or_default().replace("\r\n", "\n"),
                status: parsed(line, "status", cell("status"))?.unwrap_or(ObjectiveStatus::Active),
                period_start: start,
                period_end: end,
                owner: cell("owner").map(str::to_owned),
                team: cell("team").map(str::to_owned),
                parent: cell("parent").map(str::to_owned),
                key_results: Vec::new(),
            });
        }
        if let Some(kr) = cell("key_result") {
            let number = |column: &str| -> ValidationResult<Option<f64>> {
                parsed::<f64>(line, column, cell(column).map(|v| v.trim_end_matches('%')))
            };
            let key_result = SheetKeyResult {
                title: kr.to_owned(),
                baseline: number("baseline")?
                    .ok_or_else(|| at_line(line, format!("{kr}: baseline is empty")))?,
                target: number("target")?
                    .ok_or_else(|| at_line(line, format!("{kr}: target is empty")))?,
                current: number("current")?,
                unit: cell("unit").unwrap_or_default().to_owned(),
                confidence: parsed(line, "confidence", cell("confidence"))?.unwrap_or(5),
            };
            if let Some(objective) = objectives.last_mut() {
                objective.key_results.push(key_result);
            }
        }
        if let Some(objective) = objectives.last() {
            objective
                .check("objective")
                .map_err(|e| at_line(line, format!("{}: {}", e.field, e.message)))?;
        }
    }
    Ok(objectives)
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;
    use crate::work::Priority;
    use chrono::DateTime;
    use uuid::Uuid;

    fn item(title: &str) -> WorkItem {
        WorkItem {
            id: Uuid::from_u128(1),
            title: title.into(),
            description: "Zugang über den Hof,\n\"Schlüssel\" beim Hausmeister".into(),
            team_id: None,
            assignee_id: None,
            state: WorkState::Ready,
            kind: crate::work::WorkKind::Planned,
            priority: Priority::High,
            due: NaiveDate::from_ymd_opt(2026, 3, 17),
            parent_id: None,
            key_result_id: None,
            service_product_id: None,
            created_by: Uuid::from_u128(2),
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
            state_since: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_work_sheet_reads_back_what_it_wrote() {
        let (parent, child) = (item("Wartungsrunde"), item("Anlage 1 warten"));
        let csv = work_csv(&[
            WorkRow {
                item: parent.clone(),
                key: "WART-1".into(),
                assignee: None,
                team: Some("Kundenservice".into()),
                parent: None,
                key_result: None,
                service_product: None,
            },
            WorkRow {
                item: child.clone(),
                key: Uuid::from_u128(9).to_string(),
                assignee: Some("jonas@lindner.de".into()),
                team: None,
                parent: Some("WART-1".into()),
                key_result: Some("Erstlösungsquote".into()),
                service_product: None,
            },
        ]);
        let items = parse_work_csv(&csv).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].key, Uuid::from_u128(9).to_string());
        assert_eq!(items[1].title, "Anlage 1 warten");
        assert_eq!(items[1].description, child.description);
        assert_eq!(items[1].state, WorkState::Ready);
        assert_eq!(items[1].priority, Some(Priority::High));
        assert_eq!(items[1].due, child.due);
        assert_eq!(items[1].assignee.as_deref(), Some("jonas@lindner.de"));
        assert_eq!(items[1].parent_key.as_deref(), Some("WART-1"));
        // What tutti keeps as the description is the sheet's, unchanged.
        assert_eq!(items[1].full_description("csv"), child.description);
    }

    #[test]
    fn a_cell_a_spreadsheet_would_run_is_written_as_text_and_read_back_as_it_was() {
        let mut risky = item("=HYPERLINK(\"http://evil\")");
        risky.description = "-5 °C am Fühler".into();
        let csv = work_csv(&[WorkRow {
            item: risky.clone(),
            key: "@A-1".into(),
            assignee: None,
            team: Some("+Team".into()),
            parent: None,
            key_result: None,
            service_product: None,
        }]);
        assert!(csv.contains("'=HYPERLINK"), "{csv}");
        assert!(!csv.lines().any(|l| l.starts_with('@')), "{csv}");
        let read = parse_work_csv(&csv).unwrap();
        assert_eq!(read[0].key, "@A-1");
        assert_eq!(read[0].title, risky.title);
        assert_eq!(read[0].description, risky.description);
    }

    #[test]
    fn a_column_left_out_is_kept_as_it_is() {
        let items = parse_work_csv("key,title,state\nA-1,Eins,ready\n").unwrap();
        let item = &items[0];
        assert!(!item.keeps(ItemField::State));
        let before = crate::import::Merged {
            description: "alt".to_owned(),
            state: WorkState::Blocked,
            assignee: Some(7),
            parent: Some(8),
            due: NaiveDate::from_ymd_opt(2026, 1, 2),
        };
        let given = crate::import::Merged {
            description: String::new(),
            state: WorkState::Ready,
            assignee: None,
            parent: None,
            due: None,
        };
        let merged = item.merged(before, given);
        assert_eq!(merged.state, WorkState::Ready, "the sheet gives the state");
        assert_eq!(
            (merged.description.as_str(), merged.assignee, merged.parent),
            ("alt", Some(7), Some(8)),
            "it says nothing of the rest"
        );
        assert_eq!(merged.due, NaiveDate::from_ymd_opt(2026, 1, 2));
    }

    #[test]
    fn a_bad_work_row_names_its_line() {
        let csv = "key,title,state\nA-1,Eins,ready\n\"A-2\",\"Zwei\nmit Umbruch\",ready\nA-3,Drei,fertig\n";
        let refused = parse_work_csv(csv).unwrap_err();
        assert_eq!(refused.field, "line 5");
        assert!(refused.message.contains("state"), "{}", refused.message);
        let refused = parse_work_csv("titel\nEins\n").unwrap_err();
        assert_eq!(refused.field, "line 1");
    }

    #[test]
    fn an_objectives_sheet_groups_rows_into_objectives() {
        let csv = "\u{feff}objective,why,period_start,period_end,owner,key_result,baseline,target,current,unit,confidence\r\n\
                   Kundenbindung stärken,Weil,2026-10-01,2026-12-31,katrin@lindner.de,Verlängerungsquote,62,80,66,%,6\r\n\
                   Kundenbindung stärken,Weil,2026-10-01,2026-12-31,katrin@lindner.de,NPS,21,40,,Punkte,\r\n\
                   Angebote schneller,,2026-10-01,2026-12-31,,,,,,,\r\n";
        let objectives = parse_objectives_csv(csv).unwrap();
        assert_eq!(objectives.len(), 2);
        assert_eq!(objectives[0].key_results.len(), 2);
        assert_eq!(objectives[0].key_results[1].current, None);
        assert_eq!(objectives[0].key_results[1].confidence, 5);
        assert!(objectives[1].key_results.is_empty());
        let bad = csv.replace("62,80", "62,achtzig");
        let refused = parse_objectives_csv(&bad).unwrap_err();
        assert_eq!(refused.field, "line 2");
        let backwards = csv.replace("2026-10-01,2026-12-31,,", "2026-12-31,2026-10-01,,");
        assert_eq!(
            parse_objectives_csv(&backwards).unwrap_err().field,
            "line 4"
        );
    }

    #[test]
    fn an_objectives_sheet_reads_back_what_it_wrote() {
        let objective = Objective {
            id: Uuid::from_u128(1),
            title: "Störungen schneller beheben".into(),
            why: "Eine kalte Wohnung wartet nicht.".into(),
            owner_id: None,
            team_id: None,
            period_start: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            period_end: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            parent_id: None,
            status: ObjectiveStatus::Active,
            created_at: DateTime::UNIX_EPOCH,
        };
        let kr = KeyResult {
            id: Uuid::from_u128(2),
            objective_id: objective.id,
            title: "Reaktionszeit".into(),
            baseline: 24.0,
            target: 4.0,
            current: 14.5,
            unit: "h".into(),
            confidence: 8,
            progress: 0.5,
            updated_at: DateTime::UNIX_EPOCH,
        };
        let csv = objectives_csv(&[ObjectiveRow {
            objective: &objective,
            owner: Some("aylin@lindner.de".into()),
            team: Some("Kundenservice".into()),
            parent: Some("Kundenbindung".into()),
            key_result: Some(&kr),
        }]);
        let read = parse_objectives_csv(&csv).unwrap();
        assert_eq!(read[0].title, objective.title);
        assert_eq!(read[0].why, objective.why);
        assert_eq!(read[0].team.as_deref(), Some("Kundenservice"));
        assert_eq!(read[0].parent.as_deref(), Some("Kundenbindung"));
        let k = &read[0].key_results[0];
        assert_eq!(
            (k.baseline, k.target, k.current, k.confidence),
            (24.0, 4.0, Some(14.5), 8)
        );
    }
}
