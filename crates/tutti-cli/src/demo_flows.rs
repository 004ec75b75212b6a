//! The demo org's order flow, Vertrieb → Auftragsklärung → Montage →
//! Service, with its quality gates (one criterion checked by Emil, the AI
//! service assistant), cases in every state — moving, sent back, held past
//! its date, killed, through, and one whose go Emil only prepared — and the
//! learnings that flow back from Service: one that shaped the first gate,
//! one waiting on the catalogue, one left unanswered too long.
//!
//! Everything goes through the engine's use cases, so every verdict is a
//! decision in the flow's space, routed by its policy as any other.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use tutti_domain::access::Actor;
use tutti_domain::decision::{NewSpace, Vote};
use tutti_domain::org::{Member, Team};
use tutti_domain::service::{
    Amendment, CheckBy, Criterion, DataRule, LearningSubject, Stage, Verdict,
};
use tutti_engine::decisions::{Cast, PolicyCache, vote};
use tutti_engine::flows::{self, CheckRequest, VerdictRequest};
use tutti_store::prelude::*;
use tutti_store::{Ctx, NewCase, NewFlow, NewLearning};

// The checks and verdicts below follow the times the story needs, not the
// wall clock: each `Ctx` says when.
use uuid::Uuid;

/// Who takes part, as the demo made them.
pub struct People<'a> {
    pub owner: &'a Member,
    pub sales: &'a Team,
    pub service: &'a Team,
    pub sales_lead: &'a Member,
    pub service_lead: &'a Member,
    pub technician: &'a Member,
    pub service_ai: &'a Member,
    /// The catalogue's "Wartungsvertrag Premium".
    pub premium: Uuid,
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

fn by(text: &str, check_by: CheckBy) -> Criterion {
    Criterion {
        text: text.into(),
        check_by,
        rule: None,
        worker_id: None,
    }
}

fn rule(text: &str, rule: DataRule) -> Criterion {
    Criterion {
        rule: Some(rule),
        ..by(text, CheckBy::Rule)
    }
}

/// A step a case takes at its gate: who checks what, then the verdict and
/// who passes it.
enum Step {
    Checked(&'static str),
    Judged(Verdict, &'static str),
}

pub async fn seed<S: Store>(
    store: &S,
    org_id: Uuid,
    cast: &People<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let policies = PolicyCache::default();
    let ctx = |member: &Member, at: DateTime<Utc>| Ctx::new(org_id, Some(member.id), at);
    let katrin = actor(org_id, cast.owner, None);
    let tobias = actor(org_id, cast.sales_lead, Some(cast.sales));
    let aylin = actor(org_id, cast.service_lead, Some(cast.service));
    let jonas = actor(org_id, cast.technician, None);
    let emil = actor(org_id, cast.service_ai, None);
    let start = now - Duration::days(30);

    let policy = tutti_policy::TEMPLATES
        .iter()
        .find(|t| t.name == "quality-gates")
        .map(|t| t.source.to_owned())
        .ok_or_else(|| anyhow::anyhow!("the starter policy `quality-gates` is missing"))?;
    let space = tutti_engine::decisions::create_space(
        store,
        &katrin,
        &ctx(cast.owner, start),
        NewSpace {
            name: "Übergaben im Auftrag".into(),
            team_id: Some(cast.service.id),
            objective_id: None,
            principles: vec![
                "Wir sagen nur zu, was die Montage halten kann.".into(),
                "Ein Fall geht erst weiter, wenn die nächste Stufe ihn annehmen kann.".into(),
            ],
            policy,
            attributes: BTreeMap::new(),
            quorum: 1,
            escalate_after_secs: Some(48 * 3600),
            escalate_to: Some(cast.owner.id),
        },
    )
    .await?;
    let flow = flows::create_flow(
        store,
        &aylin,
        &ctx(cast.service_lead, start),
        NewFlow {
            name: "Auftrag Heizung".into(),
            description: "Vom ersten Gespräch bis zur Wartung danach: wer übergibt, wer annimmt, was vorher stimmen muss."
                .into(),
            stages: vec![
                Stage { name: "Vertrieb".into(), team_id: Some(cast.sales.id) },
                Stage { name: "Auftragsklärung".into(), team_id: Some(cast.service.id) },
                Stage { name: "Montage".into(), team_id: Some(cast.service.id) },
                Stage { name: "Service".into(), team_id: Some(cast.service.id) },
            ],
            space_id: space.id,
        },
    )
    .await?;
    let gates = store.gates(org_id, flow.id).await?;
    let signed_off = rule(
        "Alle Zusagen vom Kundendienst abgesichert",
        DataRule::PromisesSignedOff,
    );
    let criteria = [
        vec![signed_off.clone()],
        vec![
            by(
                "Material bestellt und Liefertermin bestätigt",
                CheckBy::Person,
            ),
            rule("Keine blockierte Arbeit", DataRule::NoBlockedWork),
        ],
        vec![
            by(
                "Abnahmeprotokoll vom Kunden unterschrieben",
                CheckBy::Person,
            ),
            by("Einweisung in die Bedienung gegeben", CheckBy::Person),
        ],
    ];
    for (gate, criteria) in gates.iter().zip(criteria) {
        flows::set_criteria(
            store,
            &aylin,
            &ctx(cast.service_lead, start),
            gate.id,
            criteria,
            1,
        )
        .await?;
    }

    // What Service learned about the first gate, accepted a week later: the
    // survey on site became a criterion (version 3).
    let survey = flows::write_learning(
        store,
        &jonas,
        &ctx(cast.technician, start + Duration::days(2)),
        NewLearning {
            title: "Zweimal ohne Aufmaß in die Montage".into(),
            body: "Bei Hoffmann und Sommer passte der Heizraum nicht zum Angebot; wir standen mit dem falschen Kessel da. \
                   Vor der Übergabe muss jemand vor Ort gemessen haben."
                .into(),
            team_id: Some(cast.service.id),
            subject: LearningSubject { gate_id: Some(gates[0].id), ..LearningSubject::default() },
            amendment: Some(Amendment::Criteria {
                criteria: vec![signed_off, by("Aufmaß vor Ort gemacht", CheckBy::Person)],
            }),
        },
    )
    .await?;
    flows::answer_learning(
        store,
        &aylin,
        &ctx(cast.service_lead, start + Duration::days(9)),
        survey.id,
        true,
        "Ab sofort Teil des Gates.".into(),
    )
    .await?;
    // One for the catalogue, a few days old, and one left too long.
    flows::write_learning(
        store,
        &jonas,
        &ctx(cast.technician, now - Duration::days(3)),
        NewLearning {
            title: "Ersatzteil binnen 24 h ist ohne Lager nicht zu halten".into(),
            body: "Der Großhandel liefert Umwälzpumpen in 3 Tagen. „Binnen 24 h“ geht nur, was wir auf Lager haben."
                .into(),
            team_id: Some(cast.service.id),
            subject: LearningSubject { service_product_id: Some(cast.premium), ..LearningSubject::default() },
            amendment: Some(Amendment::Levels {
                levels: vec![
                    "Jährliche Wartung der Heizung".into(),
                    "Ersatzteil binnen 24 h, wenn auf Lager; sonst binnen 3 Werktagen".into(),
                    "Notdienst ohne Anfahrtspauschale".into(),
                ],
            }),
        },
    )
    .await?;
    flows::write_learning(
        store,
        &jonas,
        &ctx(cast.technician, now - Duration::days(20)),
        NewLearning {
            title: "Nach der Montage wusste keiner, wen er anrufen soll".into(),
            body: "Familie Becker rief dreimal im Vertrieb an. Bei der Übergabe an den Service sollte ein Name fallen.".into(),
            team_id: Some(cast.service.id),
            subject: LearningSubject { gate_id: Some(gates[2].id), ..LearningSubject::default() },
            amendment: Some(Amendment::Criteria {
                criteria: {
                    let mut criteria = store.gate(org_id, gates[2].id).await?.criteria;
                    criteria.push(by("Ansprechpartner im Service benannt", CheckBy::Person));
                    criteria
                },
            }),
        },
    )
    .await?;

    // The cases: (title, customer, opened days ago, steps at their gates).
    // Emil gives the hold himself: the space lets an AI worker hold.
    let runtime = tutti_engine::Runtime::new(tutti_engine::Models::new(None));
    let cases: [(&str, &str, i64, Vec<Step>); 4] = [
        (
            "Wartungsumstellung Kita Sonnenschein",
            "Kita Sonnenschein",
            14,
            vec![
                Step::Checked("Aufmaß vor Ort gemacht"),
                Step::Judged(Verdict::Go, ""),
                Step::Checked("Material bestellt und Liefertermin bestätigt"),
                Step::Judged(Verdict::Go, ""),
                Step::Checked("Abnahmeprotokoll vom Kunden unterschrieben"),
                Step::Checked("Einweisung in die Bedienung gegeben"),
                Step::Judged(Verdict::Go, ""),
            ],
        ),
        (
            "Heizungstausch Familie Hoffmann",
            "Familie Hoffmann",
            10,
            vec![
                Step::Checked("Aufmaß vor Ort gemacht"),
                Step::Judged(Verdict::Go, ""),
                Step::Judged(
                    Verdict::Recycle,
                    "Liefertermin des Kessels nur angefragt, nicht bestätigt",
                ),
                Step::Checked("Material bestellt und Liefertermin bestätigt"),
                Step::Judged(Verdict::Go, ""),
            ],
        ),
        (
            "Brennwertkessel Wohnbau Nord, Haus 3",
            "Wohnbau Nord eG",
            8,
            vec![
                Step::Checked("Aufmaß vor Ort gemacht"),
                Step::Judged(Verdict::Go, ""),
                Step::Judged(
                    Verdict::Hold,
                    "Hausverwaltung gibt den Termin erst nach der Eigentümerversammlung frei",
                ),
            ],
        ),
        (
            "Solarthermie Praxis Dr. Yilmaz",
            "Praxis Dr. Yilmaz",
            6,
            vec![Step::Judged(
                Verdict::Kill,
                "Die Praxis hat sich für einen Mitbewerber entschieden.",
            )],
        ),
    ];
    for (title, customer, days_ago, steps) in cases {
        let opened = now - Duration::days(days_ago);
        let case = open(
            store,
            &tobias,
            &ctx(cast.sales_lead, opened),
            flow.id,
            title,
            customer,
        )
        .await?;
        let mut at = opened;
        for step in steps {
            at += Duration::hours(20);
            match step {
                Step::Checked(criterion) => {
                    let request = CheckRequest {
                        criterion: criterion.into(),
                        passed: Some(true),
                        reason: String::new(),
                    };
                    flows::check(
                        store,
                        &runtime,
                        &jonas,
                        &ctx(cast.technician, at),
                        case.id,
                        request,
                    )
                    .await?;
                }
                Step::Judged(Verdict::Hold, why) => {
                    let request = VerdictRequest {
                        verdict: Verdict::Hold,
                        reason: why.into(),
                        until: Some(now - Duration::days(2)),
                        redo: String::new(),
                    };
                    flows::propose_verdict(
                        store,
                        &policies,
                        &emil,
                        &ctx(cast.service_ai, at),
                        case.id,
                        request,
                    )
                    .await?;
                }
                Step::Judged(verdict, why) => {
                    let request = VerdictRequest {
                        verdict,
                        reason: if verdict == Verdict::Kill {
                            why.into()
                        } else {
                            String::new()
                        },
                        until: None,
                        redo: if verdict == Verdict::Recycle {
                            why.into()
                        } else {
                            String::new()
                        },
                    };
                    let (_, decision) = flows::propose_verdict(
                        store,
                        &policies,
                        &tobias,
                        &ctx(cast.sales_lead, at),
                        case.id,
                        request,
                    )
                    .await?;
                    // A lead passes it; the owner too where the policy asks
                    // for two.
                    let approvals = [(&aylin, cast.service_lead), (&katrin, cast.owner)];
                    let mut open = !decision.status.is_final();
                    for (who, member) in approvals {
                        if !open {
                            break;
                        }
                        at += Duration::hours(1);
                        let cast = Cast {
                            vote: Vote::Approve,
                            option: Some(verdict.as_str().into()),
                            reason: "Passt so.".into(),
                        };
                        let voted =
                            vote(store, &policies, who, &ctx(member, at), decision.id, cast)
                                .await?;
                        open = !voted.status.is_final();
                    }
                }
            }
        }
    }

    // Since yesterday Emil checks every offer at the first gate; two cases
    // wait there, each with the checks asked for. The engine has Emil
    // answer them with metered calls once `tutti up` runs.
    let mut first = store.gate(org_id, gates[0].id).await?;
    first.criteria.push(Criterion {
        worker_id: Some(cast.service_ai.id),
        ..by(
            "Angebot vollständig: Leistungsumfang, Termine, offene Fragen",
            CheckBy::Ai,
        )
    });
    let yesterday = now - Duration::days(1);
    flows::set_criteria(
        store,
        &aylin,
        &ctx(cast.service_lead, yesterday),
        first.id,
        first.criteria,
        first.version,
    )
    .await?;
    for (title, customer, survey) in [
        ("Wärmepumpe Bäckerei Sommer", "Bäckerei Sommer", true),
        ("Gasheizung Familie Becker", "Familie Becker", false),
    ] {
        let case = open(
            store,
            &tobias,
            &ctx(cast.sales_lead, yesterday),
            flow.id,
            title,
            customer,
        )
        .await?;
        let later = yesterday + Duration::hours(3);
        if survey {
            let request = CheckRequest {
                criterion: "Aufmaß vor Ort gemacht".into(),
                passed: Some(true),
                reason: "Heizraum 2,10 m hoch, Zugang über Hof.".into(),
            };
            flows::check(
                store,
                &runtime,
                &jonas,
                &ctx(cast.technician, later),
                case.id,
                request,
            )
            .await?;
        }
        let request = CheckRequest {
            criterion: "Angebot vollständig: Leistungsumfang, Termine, offene Fragen".into(),
            passed: None,
            reason: String::new(),
        };
        flows::check(
            store,
            &runtime,
            &jonas,
            &ctx(cast.technician, later),
            case.id,
            request,
        )
        .await?;
    }
    Ok(())
}

async fn open<S: Store>(
    store: &S,
    who: &Actor,
    ctx: &Ctx,
    flow_id: Uuid,
    title: &str,
    customer: &str,
) -> anyhow::Result<tutti_domain::service::Case> {
    let new = NewCase {
        flow_id,
        title: title.into(),
        customer: customer.into(),
        work_item_id: None,
    };
    Ok(flows::open_case(store, who, ctx, new).await?)
}
