//! `tutti bench model --quality`: whether the embedded model's answers are
//! worth reading. A fixed set of work orders (the demo's, as its AI workers
//! receive them, and a few more in German and English) goes through the
//! model once per sampler setting, and each answer is measured: the share
//! of its word 4-grams that are distinct (1 is no repetition at all), the
//! longest stretch of words it repeats, and whether the loop guard
//! (`tutti_domain::labour::output::looping_tail`) would stop it.

use std::collections::HashSet;
use std::process::ExitCode;

use tutti_domain::labour::output::looping_tail;
use tutti_engine::{Clock, SystemClock};
use tutti_llm::{ChatRequest, EmbeddedModel, Message, Repetition, Speaker};
use tutti_store::RunFilter;
use tutti_store::prelude::*;

/// The settings compared: off, the classic penalty, DRY, and both.
const SETTINGS: [(&str, Repetition); 4] = [
    ("off", Repetition::OFF),
    (
        "penalty 1.1",
        Repetition {
            dry_multiplier: 0.0,
            repeat_penalty: 1.1,
        },
    ),
    (
        "dry 0.8",
        Repetition {
            dry_multiplier: 0.8,
            repeat_penalty: 1.0,
        },
    ),
    ("dry 0.8 + penalty 1.1 (runs)", Repetition::RUNS),
];

/// Work orders beyond the demo's, German and English, with a role card.
const MORE: [(&str, &str); 4] = [
    (
        "Du bist die KI-Serviceassistenz eines Heizungsbaubetriebs. Du schreibst kurz, freundlich und sachlich.",
        "Schreibe der Kundin Frau Hoffmann eine kurze Antwort: Ihr Wartungstermin verschiebt sich von Montag auf Mittwoch, 8 Uhr, weil ein Ersatzteil fehlt.",
    ),
    (
        "Du bist die KI-Angebotsassistenz eines Heizungsbaubetriebs.",
        "Fasse in drei Stichpunkten zusammen, warum sich ein Wartungsvertrag für eine Hausverwaltung lohnt.",
    ),
    (
        "You are the service assistant of a heating company. You write briefly and plainly.",
        "Write a short status update for the service team: two emergency calls this week, both fixed within four hours, one spare part still missing.",
    ),
    (
        "You are the sales assistant of a heating company.",
        "Draft a follow-up email to a property manager who has not answered our maintenance offer for two weeks.",
    ),
];

/// The share of an answer's word 4-grams that are distinct.
fn distinct_4grams(text: &str) -> f64 {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() < 4 {
        return 1.0;
    }
    let grams: Vec<&[&str]> = words.windows(4).collect();
    let distinct: HashSet<&[&str]> = grams.iter().copied().collect();
    distinct.len() as f64 / grams.len() as f64
}

/// The longest run of words that stands twice in the answer without the
/// two overlapping.
fn longest_repeat(text: &str) -> usize {
    let words: Vec<&str> = text.split_whitespace().collect();
    let n = words.len();
    // same[j] after row i: how many words end at i and at j alike.
    let mut best = 0;
    let mut previous = vec![0usize; n + 1];
    for i in 1..=n {
        let mut current = vec![0usize; n + 1];
        for j in (i + 1)..=n {
            if words[i - 1] == words[j - 1] {
                current[j] = (previous[j - 1] + 1).min(j - i);
                best = best.max(current[j]);
            }
        }
        previous = current;
    }
    best
}

/// The demo's work orders as its AI workers receive them.
async fn demo_work_orders(dir: &std::path::Path) -> anyhow::Result<Vec<(String, String)>> {
    let path = dir.join("quality.db");
    let store =
        tutti_store::sqlite::SqliteStore::connect(&format!("sqlite:{}", path.display())).await?;
    store.migrate().await?;
    let demo = crate::demo::seed(&store, SystemClock.now()).await?;
    let runs = store
        .runs(
            demo.org_id,
            &RunFilter::default(),
            tutti_store::PageRequest {
                after: None,
                limit: 50,
            },
        )
        .await?;
    Ok(runs
        .items
        .into_iter()
        .map(|run| (run.role_card, run.work_order))
        .collect())
}

pub async fn run(model: EmbeddedModel, tokens: u32) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    let mut orders = demo_work_orders(dir.path()).await?;
    orders.extend(
        MORE.iter()
            .map(|(card, order)| ((*card).to_owned(), (*order).to_owned())),
    );
    println!(
        "{} work orders, up to {tokens} tokens each, greedy (as runs are)",
        orders.len()
    );
    println!(
        "{:<30} {:>7} {:>9} {:>9} {:>8} {:>6}",
        "setting", "order", "tokens", "4-grams", "repeat", "loop"
    );
    for (name, repetition) in SETTINGS {
        let (mut shares, mut loops, mut longest) = (Vec::new(), 0, 0);
        for (i, (card, order)) in orders.iter().enumerate() {
            let mut request = ChatRequest::new(
                vec![
                    Message::new(Speaker::System, card.clone()),
                    Message::new(Speaker::User, order.clone()),
                ],
                tokens,
            );
            request.repetition = repetition;
            let (text, usage, _) = model.chat(request).text().await?;
            let share = distinct_4grams(&text);
            let repeat = longest_repeat(&text);
            let looped = looping_tail(&text).is_some();
            println!(
                "{name:<30} {:>7} {:>9} {:>9.3} {:>8} {:>6}",
                i + 1,
                usage.output_tokens,
                share,
                repeat,
                if looped { "yes" } else { "no" }
            );
            shares.push(share);
            loops += usize::from(looped);
            longest = longest.max(repeat);
        }
        shares.sort_by(f64::total_cmp);
        let median = shares[shares.len() / 2];
        let min = shares.first().copied().unwrap_or(1.0);
        println!(
            "{name:<30} summary: distinct 4-grams median {median:.3}, lowest {min:.3}; longest repeat {longest} words; {loops} of {} loop",
            orders.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetition_is_measured_in_words() {
        assert!((distinct_4grams("a b c d e f") - 1.0).abs() < 1e-9);
        let looped = "die wir schneller sind, ".repeat(10);
        assert!(distinct_4grams(&looped) < 0.2);
        assert_eq!(longest_repeat("a b c x a b c"), 3);
        assert_eq!(longest_repeat(&looped), 20);
        assert_eq!(longest_repeat("eins zwei drei"), 0);
    }
}
