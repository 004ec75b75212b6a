//! When an AI worker's answer has degenerated into a loop: the same stretch
//! of text, again and again, to the end of the answer ("… die wir schneller
//! sind, die wir schneller sind, …"). Small models fall into this; a run
//! that does is stopped rather than charged for hundreds of repetitions,
//! and the reviewer is told why.

use serde::{Deserialize, Serialize};

/// A repeated stretch at the end of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loop {
    /// The repeated text, once.
    pub unit: String,
    /// How often it stands in a row at the end.
    pub repeats: usize,
}

impl Loop {
    /// A unit is at least this long (shorter repeats are rows and rules).
    pub const MIN_UNIT: usize = 6;
    /// … and at most this long, in characters.
    pub const MAX_UNIT: usize = 400;
    /// It stands at least this often in a row …
    pub const MIN_REPEATS: usize = 3;
    /// … over at least this many characters.
    pub const MIN_SPAN: usize = 90;
    /// A unit needs this many different characters (so that `========`
    /// or a row of dots is not a loop).
    const MIN_DISTINCT: usize = 4;

    /// Why the run was stopped, for the reviewer.
    pub fn explain(&self) -> String {
        let shown: String = self.unit.chars().take(80).collect();
        let cut = if shown.len() < self.unit.len() {
            "…"
        } else {
            ""
        };
        format!(
            "the answer went into a loop and was stopped: «{}{cut}» {} times in a row",
            shown.trim(),
            self.repeats
        )
    }
}

/// The loop the end of `text` has fallen into, if it has: the shortest unit
/// that repeats at least [`Loop::MIN_REPEATS`] times in a row up to the
/// end, over at least [`Loop::MIN_SPAN`] characters.
pub fn looping_tail(text: &str) -> Option<Loop> {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let longest = Loop::MAX_UNIT.min(n / Loop::MIN_REPEATS);
    for unit in Loop::MIN_UNIT..=longest {
        // How far back the text keeps repeating with this period.
        let mut span = unit;
        while span < n && chars[n - 1 - span] == chars[n - 1 - span + unit] {
            span += 1;
        }
        let repeats = span / unit;
        if repeats < Loop::MIN_REPEATS || span < Loop::MIN_SPAN {
            continue;
        }
        let once = &chars[n - unit..];
        let mut distinct: Vec<char> = once
            .iter()
            .copied()
            .filter(|c| !c.is_whitespace())
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < Loop::MIN_DISTINCT {
            continue;
        }
        return Some(Loop {
            unit: once.iter().collect(),
            repeats,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    #![expect(clippy::panic, clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_loops_small_models_fall_into_are_found() {
        let german = format!(
            "Eine kalte Wohnung im Winter wartet nicht. Jede Stunde,{}",
            " die wir schneller sind,".repeat(12)
        );
        let found = looping_tail(&german).unwrap_or_else(|| panic!("{german}"));
        assert_eq!(found.unit.trim(), "die wir schneller sind,");
        assert!(found.repeats >= 10, "{found:?}");
        let english = format!(
            "Here is the offer.\n{}",
            "It's a great example of how to make a product that is both functional and beautiful. "
                .repeat(4)
        );
        assert!(looping_tail(&english).is_some());
        assert!(
            looping_tail(&english)
                .unwrap()
                .explain()
                .contains("times in a row")
        );
    }

    #[test]
    fn ordinary_answers_rules_and_lists_are_not_loops() {
        for text in [
            "Sehr geehrte Frau Hoffmann,\n\nvielen Dank für Ihre Anfrage. Gern bieten wir Ihnen die Wartung Ihrer Heizung für 189 € an. Der Termin kann am Dienstag stattfinden.\n\nMit freundlichen Grüßen",
            &"=".repeat(300),
            &". ".repeat(200),
            "| Teil | Menge |\n|---|---|\n| Zündelektrode | 2 |\n| Düse | 4 |\n| Dichtung | 10 |\n",
            "1. Termin vereinbaren\n2. Ersatzteile prüfen\n3. Anlage warten\n4. Bericht schreiben\n",
            // Repeated, but not at the end: it recovered.
            &format!(
                "{}Danach ging es weiter mit einem neuen Gedanken, der nichts wiederholt.",
                "ja, genau so, ".repeat(8)
            ),
            "",
        ] {
            assert_eq!(looping_tail(text), None, "{text}");
        }
    }

    proptest! {
        #[test]
        fn any_text_repeated_enough_at_the_end_is_a_loop(
            head in "[a-zäöü ,.]{0,80}",
            unit in "[a-z]{3}[a-zäöü ,.]{5,40}[a-z]{2}",
            extra in 0usize..4,
        ) {
            let repeats = (Loop::MIN_SPAN / unit.chars().count() + 1).max(Loop::MIN_REPEATS) + extra;
            let text = format!("{head}{}", unit.repeat(repeats));
            let distinct = {
                let mut c: Vec<char> = unit.chars().filter(|c| !c.is_whitespace()).collect();
                c.sort_unstable();
                c.dedup();
                c.len()
            };
            prop_assume!(distinct >= 4);
            let found = looping_tail(&text);
            prop_assert!(found.is_some(), "{}", text);
            // The unit found is a rotation of the one repeated, or a shorter
            // period of it.
            let found = found.unwrap_or_else(|| Loop { unit: String::new(), repeats: 0 });
            prop_assert!(found.unit.chars().count() <= unit.chars().count());
        }
    }
}
