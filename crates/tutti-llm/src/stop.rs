//! Stop sequences for the embedded model: text is passed on as it comes,
//! except a tail that may be the start of a stop sequence, which waits until
//! the next piece says whether it is. The stop sequence itself and anything
//! after it are never passed on, as OpenAI's `stop` does.

/// Scans generated text for the caller's stop sequences.
#[derive(Debug, Default)]
pub(crate) struct StopScan {
    stops: Vec<String>,
    held: String,
}

impl StopScan {
    pub(crate) fn new(stops: Vec<String>) -> Self {
        Self {
            stops,
            held: String::new(),
        }
    }

    /// Adds a piece of text; returns what may be passed on now, and whether
    /// a stop sequence was met (then nothing more is to be generated).
    pub(crate) fn push(&mut self, piece: &str) -> (String, bool) {
        if self.stops.is_empty() {
            return (piece.to_owned(), false);
        }
        self.held.push_str(piece);
        let first_stop = self
            .stops
            .iter()
            .filter_map(|stop| self.held.find(stop.as_str()))
            .min();
        if let Some(at) = first_stop {
            let before = self.held[..at].to_owned();
            self.held.clear();
            return (before, true);
        }
        let keep = self
            .stops
            .iter()
            .map(|stop| started(&self.held, stop))
            .max()
            .unwrap_or(0);
        let ready = self.held.len() - keep;
        (self.held.drain(..ready).collect(), false)
    }

    /// The text held back when generation ends without a stop sequence.
    pub(crate) fn rest(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

/// The length of the longest end of `text` that begins `stop` (but is not
/// all of it).
fn started(text: &str, stop: &str) -> usize {
    (1..stop.len())
        .rev()
        .filter(|&len| stop.is_char_boundary(len))
        .find(|&len| text.ends_with(&stop[..len]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (String, bool) {
        let mut scan = StopScan::new(stops.iter().map(|s| (*s).to_owned()).collect());
        let mut out = String::new();
        for piece in pieces {
            let (ready, hit) = scan.push(piece);
            out.push_str(&ready);
            if hit {
                return (out, true);
            }
        }
        out.push_str(&scan.rest());
        (out, false)
    }

    #[test]
    fn a_stop_split_across_pieces_ends_the_text_before_it() {
        assert_eq!(
            run(&["\nEnde"], &["Termin am Montag.", "\nEn", "de und mehr"]),
            ("Termin am Montag.".into(), true)
        );
    }

    #[test]
    fn a_false_start_is_passed_on_once_it_is_clear() {
        let mut scan = StopScan::new(vec!["###".into()]);
        assert_eq!(scan.push("a #"), ("a ".into(), false));
        assert_eq!(scan.push("#b"), ("##b".into(), false));
        assert_eq!(scan.rest(), "");
    }

    #[test]
    fn the_earliest_of_several_stops_wins_and_text_without_one_is_whole() {
        assert_eq!(
            run(&["zwei", "eins"], &["null eins zwei"]),
            ("null ".into(), true)
        );
        assert_eq!(run(&["ß!"], &["Grüß", "e"]), ("Grüße".into(), false));
        assert_eq!(run(&[], &["alles"]), ("alles".into(), false));
    }
}
