//! The audit chain: every state change is an event whose hash covers the hash of
//! the event before it, so that altering or removing any stored event is found.
//!
//! `hash = SHA-256(prev_hash ‖ canonical JSON of the event)`, hex-encoded. The
//! canonical JSON has sorted object keys and no insignificant whitespace, and the
//! payload is stored in exactly that form, so the chain can be re-computed from
//! the stored columns alone. Each org has its own chain, numbered from 1; the org
//! keeps the head (last sequence number and hash) so that cutting off the tail is
//! found too.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The `prev_hash` of an org's first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub seq: i64,
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    /// What happened, as `subject.verb`, e.g. `work_item.created`.
    pub action: String,
    pub subject_type: String,
    pub subject_id: Option<Uuid>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// Timestamps are hashed at microsecond precision, which every backend keeps.
pub fn audit_time(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// The canonical text of a JSON value: keys sorted, compact.
pub fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sorted(v)))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    // A `Value` always serializes; the fallback only exists to avoid a panic path.
    serde_json::to_string(&sorted(value)).unwrap_or_default()
}

/// The hash of an event with the given fields on top of `prev_hash`.
#[allow(clippy::too_many_arguments)]
pub fn event_hash(
    org_id: Uuid,
    seq: i64,
    id: Uuid,
    at: DateTime<Utc>,
    actor_id: Option<Uuid>,
    action: &str,
    subject_type: &str,
    subject_id: Option<Uuid>,
    payload: &Value,
    prev_hash: &str,
) -> String {
    let body = serde_json::json!({
        "org_id": org_id,
        "seq": seq,
        "id": id,
        "at": audit_time(at).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "actor_id": actor_id,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "payload": payload,
    });
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical_json(&body).as_bytes());
    hex::encode(hasher.finalize())
}

/// An event as read back for verification: the payload is the stored text, so
/// that a change to it that parses to the same value is still noticed.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub seq: i64,
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: Option<Uuid>,
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Where and why the chain broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at event {seq}{}: {reason}", id.map(|i| format!(" ({i})")).unwrap_or_default())]
pub struct ChainBreak {
    pub seq: i64,
    pub id: Option<Uuid>,
    pub reason: String,
}

/// Walks one org's events in sequence order and checks each link.
#[derive(Debug)]
pub struct ChainVerifier {
    org_id: Uuid,
    next_seq: i64,
    prev_hash: String,
}

/// Where a walk of a chain ended, every event up to it verified: a later
/// walk may go on from there instead of from the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedHead {
    pub seq: i64,
    pub hash: String,
}

impl ChainVerifier {
    pub fn new(org_id: Uuid) -> Self {
        Self {
            org_id,
            next_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
        }
    }

    /// Goes on after `head`, which an earlier walk verified: it expects the
    /// event after it, chained to its hash.
    pub fn resume(org_id: Uuid, head: &VerifiedHead) -> Self {
        Self {
            org_id,
            next_seq: head.seq + 1,
            prev_hash: head.hash.clone(),
        }
    }

    /// Checks the next stored event.
    pub fn check(&mut self, event: &StoredEvent) -> Result<(), ChainBreak> {
        let broken = |reason: String| ChainBreak {
            seq: event.seq,
            id: Some(event.id),
            reason,
        };
        if event.seq != self.next_seq {
            return Err(ChainBreak {
                seq: self.next_seq,
                id: None,
                reason: format!(
                    "event {} is missing (the next stored event is {})",
                    self.next_seq, event.seq
                ),
            });
        }
        if event.prev_hash != self.prev_hash {
            return Err(broken(
                "its prev_hash does not match the hash of the event before it".into(),
            ));
        }
        let payload: Value = serde_json::from_str(&event.payload)
            .map_err(|e| broken(format!("its payload is not valid JSON ({e})")))?;
        if canonical_json(&payload) != event.payload {
            return Err(broken("its payload is not in canonical form".into()));
        }
        let expected = event_hash(
            self.org_id,
            event.seq,
            event.id,
            event.at,
            event.actor_id,
            &event.action,
            &event.subject_type,
            event.subject_id,
            &payload,
            &event.prev_hash,
        );
        if expected != event.hash {
            return Err(broken(
                "its content does not match its hash (it was altered)".into(),
            ));
        }
        self.next_seq += 1;
        self.prev_hash = event.hash.clone();
        Ok(())
    }

    /// Checks that the chain ends where the org's head says it does, and returns
    /// how many events were verified.
    pub fn finish(self, head_seq: i64, head_hash: &str) -> Result<i64, ChainBreak> {
        let last = self.next_seq - 1;
        if last < head_seq {
            return Err(ChainBreak {
                seq: last + 1,
                id: None,
                reason: format!(
                    "events {}..={head_seq} are missing (the chain ends at {last})",
                    last + 1
                ),
            });
        }
        if last > head_seq || self.prev_hash != head_hash {
            return Err(ChainBreak {
                seq: last,
                id: None,
                reason: "the chain does not end at the org's recorded head".into(),
            });
        }
        Ok(last)
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The chain re-reads every payload: any float in it must read back
        /// to the same text, or a stored event would look tampered with.
        #[test]
        fn floats_survive_a_round_trip(x in proptest::num::f64::NORMAL) {
            let text = canonical_json(&serde_json::json!({ "confidence": x }));
            let read: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(canonical_json(&read), text);
        }
    }

    fn chain(org: Uuid, n: i64) -> Vec<StoredEvent> {
        let mut prev = GENESIS_HASH.to_owned();
        let at = DateTime::from_timestamp(1_790_000_000, 123_456_789).unwrap();
        (1..=n)
            .map(|seq| {
                let payload =
                    serde_json::json!({"title": format!("Punkt {seq}"), "b": 1, "a": [seq]});
                let id = Uuid::from_u128(seq as u128);
                let hash = event_hash(
                    org,
                    seq,
                    id,
                    at,
                    None,
                    "work_item.created",
                    "work_item",
                    Some(id),
                    &payload,
                    &prev,
                );
                let event = StoredEvent {
                    seq,
                    id,
                    at: audit_time(at),
                    actor_id: None,
                    action: "work_item.created".into(),
                    subject_type: "work_item".into(),
                    subject_id: Some(id),
                    payload: canonical_json(&payload),
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                event
            })
            .collect()
    }

    fn verify(org: Uuid, events: &[StoredEvent], head: (i64, &str)) -> Result<i64, ChainBreak> {
        let mut verifier = ChainVerifier::new(org);
        for e in events {
            verifier.check(e)?;
        }
        verifier.finish(head.0, head.1)
    }

    #[test]
    fn a_walk_resumed_from_a_verified_head_checks_the_rest_and_finds_a_break_there() {
        let org = Uuid::from_u128(9);
        let events = chain(org, 6);
        let mut first = ChainVerifier::new(org);
        for e in &events[..4] {
            first.check(e).unwrap();
        }
        let head = VerifiedHead {
            seq: 4,
            hash: events[3].hash.clone(),
        };
        let mut rest = ChainVerifier::resume(org, &head);
        for e in &events[4..] {
            rest.check(e).unwrap();
        }
        assert_eq!(rest.finish(6, &events[5].hash), Ok(6));
        // A later event altered is found by the resumed walk.
        let mut altered = events[5].clone();
        altered.payload = altered.payload.replace("Punkt 6", "Punkt 7");
        let mut rest = ChainVerifier::resume(org, &head);
        rest.check(&events[4]).unwrap();
        assert_eq!(rest.check(&altered).unwrap_err().seq, 6);
        // Resuming from a head that is not the chain's is refused at once.
        let wrong = VerifiedHead {
            seq: 4,
            hash: events[2].hash.clone(),
        };
        assert!(
            ChainVerifier::resume(org, &wrong)
                .check(&events[4])
                .is_err()
        );
    }

    #[test]
    fn canonical_json_sorts_keys_deeply() {
        let v = serde_json::json!({"b": {"z": 1, "a": 2}, "a": [{"y": 1, "x": 2}]});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":[{"x":2,"y":1}],"b":{"a":2,"z":1}}"#
        );
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let org = Uuid::from_u128(99);
        let events = chain(org, 5);
        let head = events.last().unwrap().hash.clone();
        assert_eq!(verify(org, &events, (5, &head)), Ok(5));
    }

    #[test]
    fn a_cut_off_tail_is_found() {
        let org = Uuid::from_u128(99);
        let events = chain(org, 5);
        let head = events.last().unwrap().hash.clone();
        let err = verify(org, &events[..4], (5, &head)).unwrap_err();
        assert_eq!(err.seq, 5);
    }

    #[test]
    fn another_orgs_chain_does_not_verify() {
        let events = chain(Uuid::from_u128(1), 2);
        let head = events.last().unwrap().hash.clone();
        assert!(verify(Uuid::from_u128(2), &events, (2, &head)).is_err());
    }

    proptest! {
        #[test]
        fn any_altered_or_removed_event_is_named(n in 2i64..12, victim in 0usize..12, how in 0u8..5) {
            let org = Uuid::from_u128(42);
            let mut events = chain(org, n);
            let victim = victim % events.len();
            let head = events.last().unwrap().hash.clone();
            let seq = events[victim].seq;
            match how {
                0 => { events.remove(victim); }
                1 => events[victim].payload = events[victim].payload.replace("Punkt", "Punkt!"),
                2 => events[victim].action = "work_item.deleted".into(),
                3 => events[victim].at += chrono::Duration::seconds(1),
                _ => events[victim].payload = events[victim].payload.replace(':', ": "),
            }
            let err = verify(org, &events, (n, &head)).unwrap_err();
            prop_assert_eq!(err.seq, seq);
        }
    }
}
