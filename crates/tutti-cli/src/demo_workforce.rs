//! The demo org's AI workforce, steered: three work-order templates with a
//! few weeks of history ("Angebot nachfassen" in two versions, the newer
//! one clearly better), guard-rails on the service team's space that catch
//! one of Emil's answers ("garantiert"), and accepted results that stand as
//! evidence behind two check-ins.
//!
//! The history is made the way it happens: items from the templates, runs
//! claimed and ended by an engine (metered against the embedded model's
//! prices), reviews by the leads. It is seeded before any other demo work
//! queues a run, so the claims here take only these runs.

use chrono::{DateTime, Duration, Utc};
use tutti_domain::guard::GuardCheck;
use tutti_domain::labour::{NewReview, Tokens, Verdict};
use tutti_domain::org::{Member, Team};
use tutti_domain::work::{Priority, WorkKind, WorkState};
use tutti_store::prelude::*;
use tutti_store::{Charge, Ctx, EngineNode, FromTemplate, NewTemplateVersion, PageRequest, RunEnd};
use uuid::Uuid;

pub struct People<'a> {
    pub sales: &'a Team,
    pub service: &'a Team,
    pub sales_lead: &'a Member,
    pub service_lead: &'a Member,
    pub sales_ai: &'a Member,
    pub service_ai: &'a Member,
}

/// Accepted work the demo later shows as evidence: Ada's follow-up and
/// Emil's answer to a breakdown; and all the work from the two templates,
/// which the demo later links to the key results it serves (offers to the
/// offers' lead time, breakdowns to the response time), so the leverage
/// view sets their spend against those key results' moves. The
/// appointments serve no key result: spend that moves nothing.
pub struct Accepted {
    pub offer_follow_up: Uuid,
    pub breakdown_answer: Uuid,
    pub offers: Vec<Uuid>,
    pub breakdowns: Vec<Uuid>,
}

/// What happens to one item made from a template: the outputs its runs
/// deliver in turn, and the review each output that reaches review gets.
struct Story {
    title: &'static str,
    days_ago: i64,
    outputs: &'static [&'static str],
    reviews: &'static [(Verdict, i64, &'static str)],
}

const NODE: &str = "demo-history";

/// Claims the one queued run, reserves its call, ends it with `output`.
async fn deliver<S: Store>(store: &S, at: DateTime<Utc>, output: &str) -> anyhow::Result<Uuid> {
    let node = EngineNode {
        name: NODE.into(),
        embedded_model: true,
    };
    let claimed = store
        .claim_run(&node, at, at + Duration::seconds(30))
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo history expected a queued run"))?;
    let input = 380 + output.len() as i64 / 8;
    let charge = Charge {
        worker_id: claimed.run.worker_id,
        run_id: Some(claimed.run.id),
        work_item_id: None,
        route_provider: claimed.route.provider.clone(),
        route_model: claimed.route.model.clone(),
        prices: claimed.route.prices,
        input_tokens: input,
        max_output_tokens: claimed.run.max_tokens,
        expires_at: at,
        holder: Some(NODE.into()),
    };
    store
        .reserve_for_run(claimed.run.id, NODE, at, charge)
        .await?;
    let used = Tokens {
        input,
        cached_input: 0,
        output: (output.chars().count() as i64 / 4).max(20),
    };
    let end = RunEnd::Succeeded {
        output: output.into(),
        used,
    };
    store.end_run(claimed.run.id, NODE, at, end).await?;
    Ok(claimed.run.id)
}

/// Who plays a story: the team, its lead who orders and reviews, and the AI
/// worker who delivers.
struct Crew<'a> {
    team: &'a Team,
    lead: &'a Member,
    worker: &'a Member,
}

/// Plays a story through: the item, each run's output, each review.
async fn play<S: Store>(
    store: &S,
    org_id: Uuid,
    template_id: Uuid,
    crew: &Crew<'_>,
    story: &Story,
    now: DateTime<Utc>,
) -> anyhow::Result<Uuid> {
    let Crew { team, lead, worker } = crew;
    let mut at = now - Duration::days(story.days_ago);
    let item = store
        .create_from_template(
            &Ctx::new(org_id, Some(lead.id), at),
            template_id,
            FromTemplate {
                title: story.title.into(),
                details: String::new(),
                team_id: Some(team.id),
                assignee_id: Some(worker.id),
                key_result_id: None,
                state: WorkState::Ready,
                kind: WorkKind::Planned,
                priority: Priority::Normal,
                due: None,
            },
        )
        .await?;
    let mut reviews = story.reviews.iter();
    for output in story.outputs {
        at += Duration::minutes(7);
        let run = deliver(store, at, output).await?;
        if store.run(org_id, run).await?.sent_back {
            continue;
        }
        let Some((verdict, rating, feedback)) = reviews.next() else {
            break;
        };
        at += Duration::hours(3);
        store
            .review_run(
                &Ctx::new(org_id, Some(lead.id), at),
                run,
                NewReview::parse(*verdict, feedback, *rating)?,
            )
            .await?;
    }
    Ok(item.id)
}

fn version(body: &str, criteria: &str, note: &str) -> NewTemplateVersion {
    NewTemplateVersion {
        body: body.into(),
        criteria: criteria.into(),
        note: note.into(),
        side_by_side: false,
    }
}

pub async fn seed<S: Store>(
    store: &S,
    org_id: Uuid,
    cast: &People<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<Accepted> {
    if store.capacity(org_id, now).await?.queued > 0 {
        anyhow::bail!("the demo's AI history must be seeded before other work queues runs");
    }
    let at = |days: i64| now - Duration::days(days);
    // Guard-rails on the service team's space: no guarantees, nothing free.
    let spaces = store
        .spaces(org_id, PageRequest::first(PageRequest::MAX_LIMIT))
        .await?
        .items;
    for space in spaces {
        let checks = match space.team_id {
            Some(team) if team == cast.service.id => vec![GuardCheck::Forbidden {
                phrases: vec!["garantiert".into(), "kostenlos".into()],
            }],
            Some(team) if team == cast.sales.id => vec![GuardCheck::AmountAbove { limit: 20_000 }],
            _ => continue,
        };
        store
            .set_space_guards(
                &Ctx::new(org_id, Some(cast.service_lead.id), at(50)),
                space.id,
                checks,
            )
            .await?;
    }

    let sales = Crew {
        team: cast.sales,
        lead: cast.sales_lead,
        worker: cast.sales_ai,
    };
    let service = Crew {
        team: cast.service,
        lead: cast.service_lead,
        worker: cast.service_ai,
    };
    let sales_ctx = |days| Ctx::new(org_id, Some(cast.sales_lead.id), at(days));
    let follow_up = store
        .create_template(
            &sales_ctx(45),
            "Angebot nachfassen".into(),
            version(
                "Schreibe eine Nachfass-Mail zum Angebot „{title}“. {details}\nFrage nach, ob noch Fragen offen sind.",
                "Freundlich, höchstens zehn Sätze, keine Rabatte.",
                "",
            ),
        )
        .await?;
    let v1_stories = [
        Story {
            title: "Wartungsvertrag Familie Berger",
            days_ago: 44,
            outputs: &[
                "Sehr geehrte Familie Berger, …",
                "Sehr geehrte Familie Berger, kurz und klar: …",
            ],
            reviews: &[
                (Verdict::Revise, 2, "Zu lang, und wann rufen wir an?"),
                (Verdict::Accept, 4, ""),
            ],
        },
        Story {
            title: "Heizungstausch Praxis Dr. Yilmaz",
            days_ago: 40,
            outputs: &[
                "Guten Tag Frau Dr. Yilmaz, …",
                "Guten Tag Frau Dr. Yilmaz, …",
                "Guten Tag Frau Dr. Yilmaz, wir schlagen Dienstag vor.",
            ],
            reviews: &[
                (Verdict::Revise, 2, "Kein Terminvorschlag."),
                (Verdict::Revise, 3, "Bitte einen konkreten Tag."),
                (Verdict::Accept, 4, ""),
            ],
        },
        Story {
            title: "Wärmepumpe Wohnbau Süd",
            days_ago: 36,
            outputs: &["Sehr geehrte Damen und Herren, …"],
            reviews: &[(
                Verdict::Reject,
                1,
                "Das Angebot ist längst angenommen – falscher Stand.",
            )],
        },
        Story {
            title: "Wartung Bäckerei Hofmann",
            days_ago: 33,
            outputs: &[
                "Hallo Herr Hofmann, …",
                "Hallo Herr Hofmann, passt Ihnen Donnerstag?",
            ],
            reviews: &[
                (Verdict::Revise, 3, "Termin fehlt."),
                (Verdict::Accept, 4, ""),
            ],
        },
    ];
    let mut offer_follow_up = Uuid::nil();
    let mut offers = Vec::new();
    for story in &v1_stories {
        offers.push(play(store, org_id, follow_up.id, &sales, story, now).await?);
    }
    store
        .add_template_version(
            &sales_ctx(30),
            follow_up.id,
            version(
                "Schreibe eine kurze Nachfass-Mail zum Angebot „{title}“. {details}\n\
                 Schlage zwei konkrete Termine für einen Rückruf vor und nenne den Ansprechpartner.\n\
                 Beende die Mail mit dem nächsten Schritt.",
                "Höchstens sechs Sätze, zwei Terminvorschläge, keine Rabatte, endet mit dem nächsten Schritt.",
                "kürzer, mit zwei Terminvorschlägen",
            ),
        )
        .await?;
    let v2_stories = [
        ("Wartungsvertrag Hausverwaltung Krämer", 28, true),
        ("Modernisierung Kita Sonnenschein", 24, false),
        ("Brennertausch Familie Öztürk", 20, false),
        ("Wartung Autohaus Meier", 15, false),
        ("Wärmepumpe Familie Schneider", 9, false),
        ("Wartungsvertrag Premium Weber", 4, false),
    ];
    for (title, days_ago, revise) in v2_stories {
        let story = Story {
            title,
            days_ago,
            outputs: if revise {
                &[
                    "Guten Tag, …",
                    "Guten Tag, wir rufen Dienstag oder Mittwoch an. Nächster Schritt: Ihr Rückruf.",
                ]
            } else {
                &[
                    "Guten Tag, passt Ihnen Dienstag 10 Uhr oder Mittwoch 14 Uhr für einen Rückruf? Nächster Schritt: kurze Bestätigung.",
                ]
            },
            reviews: if revise {
                &[
                    (Verdict::Revise, 3, "Bitte den Ansprechpartner nennen."),
                    (Verdict::Accept, 5, ""),
                ]
            } else {
                &[(Verdict::Accept, 5, "")]
            },
        };
        let id = play(store, org_id, follow_up.id, &sales, &story, now).await?;
        offer_follow_up = id;
        offers.push(id);
    }

    let service_ctx = |days| Ctx::new(org_id, Some(cast.service_lead.id), at(days));
    let breakdown = store
        .create_template(
            &service_ctx(35),
            "Störungsmeldung beantworten".into(),
            version(
                "Beantworte die Störungsmeldung „{title}“. {details}\nSag, wann ein Techniker kommt, und was die Kundin bis dahin tun kann.\n\
                 Das zählt auf: {key_result}.",
                "Freundlich und verbindlich, keine Zusagen, die der Service nicht halten kann; bei Gas, Wasser oder Strom sofort der Notdienst.",
                "",
            ),
        )
        .await?;
    let mut breakdown_answer = Uuid::nil();
    let mut breakdowns = Vec::new();
    for (title, days_ago, outputs) in [
        (
            "Heizung fällt aus, Familie Berger",
            21,
            &[
                "Liebe Familie Berger, ein Techniker kommt morgen zwischen 8 und 12 Uhr. Drehen Sie bis dahin das Thermostat auf 5.",
            ][..],
        ),
        (
            "Warmwasser kalt, Praxis Dr. Yilmaz",
            12,
            &[
                "Guten Tag, unser Techniker kommt garantiert heute noch.",
                "Guten Tag, unser Techniker meldet sich bis 14 Uhr mit einem Termin für heute.",
            ][..],
        ),
        (
            "Geräusche in der Therme, Bäckerei Hofmann",
            3,
            &[
                "Guten Tag Herr Hofmann, wir kommen am Donnerstag. Bitte schalten Sie die Therme bis dahin nicht aus.",
            ][..],
        ),
    ] {
        let story = Story {
            title,
            days_ago,
            outputs,
            reviews: &[(Verdict::Accept, 4, "")],
        };
        let id = play(store, org_id, breakdown.id, &service, &story, now).await?;
        if title.contains("Yilmaz") {
            breakdown_answer = id;
        }
        breakdowns.push(id);
    }
    let appointment = store
        .create_template(
            &service_ctx(20),
            "Wartungstermin bestätigen".into(),
            version(
                "Bestätige den Wartungstermin „{title}“ {due}. {details}\nNenne, was die Kundin vorbereiten soll.",
                "Datum, Zeitfenster und Vorbereitung stehen drin.",
                "",
            ),
        )
        .await?;
    for (title, days_ago) in [
        ("Wartung Familie Öztürk", 14),
        ("Wartung Kita Sonnenschein", 6),
    ] {
        let story = Story {
            title,
            days_ago,
            outputs: &[
                "Guten Tag, wir bestätigen Ihren Wartungstermin am Montag zwischen 8 und 10 Uhr. Bitte halten Sie den Heizungsraum frei.",
            ],
            reviews: &[(Verdict::Accept, 5, "")],
        };
        play(store, org_id, appointment.id, &service, &story, now).await?;
    }
    Ok(Accepted {
        offer_follow_up,
        breakdown_answer,
        offers,
        breakdowns,
    })
}

/// Shows the accepted work behind two check-ins: each item now serves the
/// key result, and stands as evidence behind the check-in that names it.
pub async fn evidence<S: Store>(
    store: &S,
    org_id: Uuid,
    lead: &Member,
    accepted: &Accepted,
    behind: [(Uuid, Uuid); 2],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let ctx = Ctx::new(org_id, Some(lead.id), now);
    let [(response, breakdown_check_in), (lead_time, offer_check_in)] = behind;
    for (items, key_result) in [
        (&accepted.breakdowns, response),
        (&accepted.offers, lead_time),
    ] {
        for item in items {
            store
                .update_work_item(
                    &ctx,
                    *item,
                    tutti_store::WorkItemPatch {
                        key_result_id: Some(Some(key_result)),
                        ..tutti_store::WorkItemPatch::default()
                    },
                    &|_, _| Ok(()),
                )
                .await?;
        }
    }
    for (item, check_in) in [
        (accepted.breakdown_answer, breakdown_check_in),
        (accepted.offer_follow_up, offer_check_in),
    ] {
        store.attach_evidence(&ctx, check_in, item, None).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use tutti_domain::access::Actor;
    use tutti_domain::org::{MemberKind, Role};
    use tutti_store::prelude::*;
    use tutti_store::sqlite::SqliteStore;

    /// The demo's history says what the demo promises: the newer way of
    /// following up an offer is clearly better than the older, one of
    /// Emil's answers was caught by a guard-rail, and two check-ins have
    /// work behind them.
    #[tokio::test]
    async fn the_demo_history_shows_a_better_version_a_caught_output_and_evidence() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::connect(&format!("sqlite:{}", dir.path().join("demo.db").display()))
                .await
                .unwrap();
        store.migrate().await.unwrap();
        let now = "2026-11-21T10:00:00Z".parse().unwrap();
        let demo = crate::demo::seed(&store, now).await.unwrap();
        let reader = Actor {
            org_id: demo.org_id,
            member_id: demo.owner_id,
            kind: MemberKind::Human,
            role: Role::Owner,
            teams: vec![],
            led_teams: vec![],
        };
        let templates = tutti_engine::workforce::templates(&store, &reader)
            .await
            .unwrap();
        assert_eq!(templates.len(), 3);
        let follow_up = templates
            .iter()
            .find(|t| t.name == "Angebot nachfassen")
            .unwrap();
        let record = tutti_engine::workforce::track_record(&store, &reader, follow_up.id)
            .await
            .unwrap();
        let (v1, v2) = (&record.versions[0].record, &record.versions[1].record);
        assert!(
            v2.accept_rate.unwrap() > v1.accept_rate.unwrap() + 0.3,
            "{v1:?} {v2:?}"
        );
        assert!(v2.revise_rounds.unwrap() < v1.revise_rounds.unwrap());
        assert!(v2.cost_per_accepted.unwrap() > 0);
        let breakdown = templates
            .iter()
            .find(|t| t.name == "Störungsmeldung beantworten")
            .unwrap();
        let record = tutti_engine::workforce::track_record(&store, &reader, breakdown.id)
            .await
            .unwrap();
        assert_eq!(record.total.guard_findings, 1);
        let evidence: usize = {
            let mut n = 0;
            let all = tutti_store::PageRequest::first(tutti_store::PageRequest::MAX_LIMIT);
            let roots: Vec<_> = store
                .objectives(demo.org_id, all)
                .await
                .unwrap()
                .items
                .iter()
                .map(|o| o.id)
                .collect();
            for kr in store
                .objective_forest(demo.org_id, &roots)
                .await
                .unwrap()
                .key_results
            {
                n += store.evidence(demo.org_id, kr.id).await.unwrap().len();
            }
            n
        };
        assert_eq!(evidence, 2);

        // The leverage view has something to see: AI spend that moved a
        // key result, and spend that moved nothing.
        let view = tutti_engine::workforce::leverage(
            &store,
            &reader,
            tutti_domain::labour::leverage::LeverageBy::Objective,
            None,
            now,
        )
        .await
        .unwrap();
        assert!(
            view.rows.iter().any(|r| r.cost > 0 && r.points_moved > 0.0),
            "{view:?}"
        );
        assert!(view.rows.iter().any(|r| r.moves_nothing), "{view:?}");
    }
}
