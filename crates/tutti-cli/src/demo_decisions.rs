//! The demo org's decision spaces: discounts in sales (Ada may grant small
//! ones herself) and supplier choice in service (Emil only prepares), with a
//! decision in every state, routed and voted on through the engine like any
//! other.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use tutti_domain::access::Actor;
use tutti_domain::decision::{Facts, Outcome, Proposal, Risk, Vote};
use tutti_domain::org::{Member, Team};
use tutti_engine::decisions::{
    Cast, DecisionRequest, PolicyCache, escalate_overdue, request, vote,
};
use tutti_store::Ctx;
use tutti_store::NewSpace;
use tutti_store::prelude::*;
use uuid::Uuid;

/// Who takes part, as the demo made them.
pub struct People<'a> {
    pub owner: &'a Member,
    pub sales: &'a Team,
    pub service: &'a Team,
    pub sales_lead: &'a Member,
    pub service_lead: &'a Member,
    pub sales_ai: &'a Member,
    pub service_ai: &'a Member,
}

fn actor(org_id: Uuid, member: &Member, leads: Option<&Team>) -> Actor {
    Actor {
        org_id,
        member_id: member.id,
        kind: member.kind,
        role: member.role,
        teams: member.teams.clone(),
        led_teams: leads.map(|t| vec![t.id]).unwrap_or_default(),
    }
}

fn template(name: &str) -> anyhow::Result<String> {
    tutti_policy::TEMPLATES
        .iter()
        .find(|t| t.name == name)
        .map(|t| t.source.to_owned())
        .ok_or_else(|| anyhow::anyhow!("the starter policy `{name}` is missing"))
}

fn facts(euros: i64, risk: Risk, reversible: bool, customer_facing: bool) -> Facts {
    Facts {
        amount_minor: euros * 100,
        currency: "EUR".into(),
        risk,
        reversible,
        customer_facing,
        attributes: BTreeMap::new(),
    }
}

fn proposal(option: &str, rationale: &str, confidence: f64) -> Option<Proposal> {
    Some(Proposal {
        option: option.into(),
        rationale: rationale.into(),
        confidence,
    })
}

pub async fn seed<S: Store>(
    store: &S,
    org_id: Uuid,
    cast: &People<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let policies = PolicyCache::default();
    let ctx = |member: &Member, at: DateTime<Utc>| Ctx::new(org_id, Some(member.id), at);
    let owner_ctx = ctx(cast.owner, now);
    let katrin = actor(org_id, cast.owner, None);
    let discounts = tutti_engine::decisions::create_space(
        store,
        &katrin,
        &owner_ctx,
        NewSpace {
            name: "Rabatte und Kulanz".into(),
            team_id: Some(cast.sales.id),
            objective_id: None,
            principles: vec![
                "Rabatte nur auf Wartung und Modernisierung, nie auf den Notdienst.".into(),
                "Über 15 % Rabatt entscheidet immer ein Mensch.".into(),
                "Was wir einer Kundin zusagen, muss der Kundendienst halten können.".into(),
            ],
            policy: template("discounts")?,
            attributes: BTreeMap::new(),
            quorum: 1,
            escalate_after_secs: Some(24 * 3600),
            escalate_to: Some(cast.owner.id),
        },
    )
    .await?;
    let suppliers = tutti_engine::decisions::create_space(
            store,
            &katrin,
            &owner_ctx,
            NewSpace {
                name: "Lieferantenwahl Ersatzteile".into(),
                team_id: Some(cast.service.id),
                objective_id: None,
                principles: vec![
                    "Verfügbarkeit vor Preis: Ein Ersatzteil, das morgen da ist, schlägt eines, das billiger ist."
                        .into(),
                    "Keine Bindung an einen Lieferanten länger als ein Jahr ohne Rücksprache.".into(),
                ],
                policy: template("prepare-only")?,
                attributes: BTreeMap::new(),
                quorum: 1,
                escalate_after_secs: Some(48 * 3600),
                escalate_to: Some(cast.owner.id),
            },
        )
        .await?;

    let ada = actor(org_id, cast.sales_ai, None);
    let emil = actor(org_id, cast.service_ai, None);
    let tobias = actor(org_id, cast.sales_lead, Some(cast.sales));
    let aylin = actor(org_id, cast.service_lead, Some(cast.service));
    let ask = |space: Uuid, question: &str, context: &str, facts: Facts, options: &[&str]| {
        DecisionRequest {
            space_id: space,
            question: question.into(),
            context: context.into(),
            facts,
            options: options.iter().map(|o| (*o).to_owned()).collect(),
            assignee_id: None,
            run_id: None,
            proposal: None,
        }
    };
    let approve = |option: &str, reason: &str| Cast {
        vote: Vote::Approve,
        option: Some(option.into()),
        reason: reason.into(),
    };
    let cache = &policies;

    // Ada decides a small, reversible goodwill discount herself.
    request(
        store,
        cache,
        &ada,
        &ctx(cast.sales_ai, now - Duration::days(3)),
        DecisionRequest {
            proposal: proposal(
                "5 % auf die Jahreswartung",
                "Stammkundin seit 2014, zwei Ausfälle im Winter; 5 % halten sie, ohne die Marge zu gefährden.",
                0.82,
            ),
            ..ask(
                discounts.id,
                "Kulanzrabatt für Familie Hoffmann?",
                "Zwei Störungen in diesem Winter; Frau Hoffmann fragt nach einem Entgegenkommen.",
                facts(180, Risk::Low, true, false),
                &["5 % auf die Jahreswartung", "Kein Rabatt"],
            )
        },
    )
    .await?;

    // A larger discount Ada only prepares; Tobias and Katrin agreed, and it
    // turned out well.
    let lindenhof = request(
        store,
        cache,
        &ada,
        &ctx(cast.sales_ai, now - Duration::days(10)),
        DecisionRequest {
            proposal: proposal(
                "8 % auf den Rahmenvertrag",
                "48 Wohneinheiten, drei Jahre Laufzeit; 8 % liegen unter unserer Schwelle von 15 %.",
                0.74,
            ),
            ..ask(
                discounts.id,
                "Rabatt für den Wartungsrahmenvertrag Wohnanlage Lindenhof?",
                "Hausverwaltung Krämer vergleicht drei Angebote.",
                facts(2_400, Risk::Medium, true, false),
                &["8 % auf den Rahmenvertrag", "4 % auf den Rahmenvertrag", "Kein Rabatt"],
            )
        },
    )
    .await?;
    let voted = |member: &Member, days_ago: i64| ctx(member, now - Duration::days(days_ago));
    vote(
        store,
        cache,
        &tobias,
        &voted(cast.sales_lead, 9),
        lindenhof.id,
        approve("8 % auf den Rahmenvertrag", "Der Vertrag trägt das."),
    )
    .await?;
    vote(
        store,
        cache,
        &katrin,
        &voted(cast.owner, 9),
        lindenhof.id,
        approve("8 % auf den Rahmenvertrag", "Einverstanden."),
    )
    .await?;
    store
        .review_outcome(
            &voted(cast.sales_lead, 1),
            lindenhof.id,
            Outcome::Good,
            "Vertrag unterschrieben, drei Jahre.".into(),
        )
        .await?;

    // Waiting on two people now: a customer-facing promise.
    request(
        store,
        cache,
        &ada,
        &ctx(cast.sales_ai, now - Duration::hours(5)),
        DecisionRequest {
            proposal: proposal(
                "Festpreisgarantie für 2027 zusagen",
                "Die Schule plant ihr Budget im Januar; ein fester Preis ist ihr wichtiger als ein Rabatt.",
                0.66,
            ),
            ..ask(
                discounts.id,
                "Festpreisgarantie für die Grundschule am Park?",
                "Die Stadt verlangt Planungssicherheit für den Haushalt 2027.",
                facts(3_800, Risk::Medium, true, true),
                &["Festpreisgarantie für 2027 zusagen", "Übliche Preisgleitklausel"],
            )
        },
    )
    .await?;

    // Waited too long: escalated to Katrin.
    request(
        store,
        cache,
        &ada,
        &ctx(cast.sales_ai, now - Duration::days(2)),
        DecisionRequest {
            proposal: proposal(
                "10 % bei Vertragsverlängerung",
                "Wettbewerber bietet 12 %; mit 10 % und unserem Notdienst bleiben wir vorn.",
                0.58,
            ),
            ..ask(
                discounts.id,
                "Rabatt für die Bäckerei Sommer bei Verlängerung?",
                "",
                facts(1_500, Risk::Low, true, false),
                &[
                    "10 % bei Vertragsverlängerung",
                    "5 % bei Vertragsverlängerung",
                ],
            )
        },
    )
    .await?;
    escalate_overdue(store, cache, now).await?;

    // Tobias asked Ada to prepare one; the engine has her draft it once it runs.
    request(
        store,
        cache,
        &tobias,
        &ctx(cast.sales_lead, now - Duration::hours(1)),
        DecisionRequest {
            assignee_id: Some(cast.sales_ai.id),
            ..ask(
                discounts.id,
                "Staffelrabatt für Hausverwaltungen ab zehn Objekten?",
                "",
                facts(6_000, Risk::Medium, true, false),
                &["Staffel 3/5/8 %", "Pauschal 5 %", "Keine Staffel"],
            )
        },
    )
    .await?;

    // Emil prepares a supplier choice; irreversible, so two people decide.
    request(
        store,
        cache,
        &emil,
        &ctx(cast.service_ai, now - Duration::hours(20)),
        DecisionRequest {
            proposal: proposal(
                "Heizungsteile Nord (Lieferung am Folgetag)",
                "Drei Brennerausfälle warteten im Oktober auf Teile; Nord liefert zuverlässig am Folgetag.",
                0.71,
            ),
            ..ask(
                suppliers.id,
                "Jahresvertrag Brennerersatzteile: welcher Lieferant?",
                "Angebote von Heizungsteile Nord und Thermoversand liegen vor.",
                facts(12_000, Risk::Medium, false, false),
                &["Heizungsteile Nord (Lieferung am Folgetag)", "Thermoversand (8 % günstiger, 3 Tage)"],
            )
        },
    )
    .await?;

    // Aylin's own request, rejected by Katrin.
    let shelf = request(
        store,
        cache,
        &aylin,
        &ctx(cast.service_lead, now - Duration::days(4)),
        ask(
            suppliers.id,
            "Eigenes Ersatzteillager im Keller einrichten?",
            "",
            facts(900, Risk::Low, true, false),
            &["Ja, Regalsystem bestellen", "Nein"],
        ),
    )
    .await?;
    vote(
        store,
        cache,
        &katrin,
        &voted(cast.owner, 3),
        shelf.id,
        Cast {
            vote: Vote::Reject,
            option: None,
            reason: "Erst nach dem Umzug ins neue Lager.".into(),
        },
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use tutti_domain::decision::{Autonomy, DecisionStatus};
    use tutti_store::DecisionFilter;
    use tutti_store::prelude::*;
    use tutti_store::sqlite::SqliteStore;
    use tutti_store::{Decisions, PageRequest};

    /// The whole demo seeds into a real SQLite file, with a decision in every
    /// state and an intact audit chain.
    #[tokio::test]
    async fn the_demo_has_a_decision_in_every_state() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::connect(&format!("sqlite:{}", dir.path().join("demo.db").display()))
                .await
                .unwrap();
        store.migrate().await.unwrap();
        let now = "2026-11-21T10:00:00Z".parse().unwrap();
        let demo = crate::demo::seed(&store, now).await.unwrap();
        let page = PageRequest {
            after: None,
            limit: PageRequest::MAX_LIMIT,
        };
        let decisions = store
            .decisions(demo.org_id, &DecisionFilter::default(), page)
            .await
            .unwrap()
            .items;
        for status in DecisionStatus::ALL {
            assert!(
                decisions.iter().any(|d| d.status == *status),
                "no demo decision is {status}"
            );
        }
        for autonomy in Autonomy::ALL {
            assert!(
                decisions.iter().any(|d| d.routing.autonomy == *autonomy),
                "no demo decision routes {autonomy}"
            );
        }
        assert!(decisions.iter().any(|d| d.outcome.is_some()));
        // Discounts, suppliers, and the order flow's hand-overs.
        assert_eq!(
            store.spaces(demo.org_id, page).await.unwrap().items.len(),
            3
        );
        // The flow has a case in every state, the verdicts given through
        // their decisions.
        let cases = store
            .cases(demo.org_id, &tutti_store::CaseFilter::default(), page)
            .await
            .unwrap()
            .items;
        for status in tutti_domain::service::CaseStatus::ALL {
            assert!(
                cases.iter().any(|c| c.status == *status),
                "no demo case is {status}"
            );
        }
        assert!(cases.iter().any(|c| !c.redo.is_empty() || c.round > 2));
        let verified = store.verify_chain(demo.org_id).await.unwrap();
        assert!(verified.is_ok(), "{verified:?}");
    }
}
