//! The demo org that `tutti up` seeds into an empty database: Lindner
//! Gebäudetechnik GmbH, a mid-sized building-services firm whose sales and
//! service teams work with two AI workers. It is written through the store like
//! any other data, so every row has its audit event.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use tutti_domain::labour::{BudgetPeriod, BudgetScope, Prices, ProviderKind};
use tutti_domain::org::{MemberKind, Role};
use tutti_domain::work::{Priority, WorkKind, WorkState};
use tutti_engine::{Clock, SystemClock};
use tutti_store::prelude::*;
use tutti_store::{
    Ctx, Enrolment, KeyResultPatch, NewCheckIn, NewKeyResult, NewMember, NewObjective, NewTeam,
    NewWorkItem, TeamPatch, WorkItemPatch,
};
use tutti_store::{NewBudget, NewModel, NewProvider};
use uuid::Uuid;

use crate::demo_people::person;

/// The demo's AI workers run on the embedded model under these names.
pub const DEMO_PROVIDER: &str = "lokal";
pub const DEMO_MODEL: &str = "smollm2-135m";

pub struct Demo {
    pub org_id: Uuid,
    pub org_name: String,
    pub owner_id: Uuid,
    pub owner_email: String,
}

/// Gives every person of the demo org one fresh random password, so that
/// the cockpit can be tried at once, and returns it. Only its hash is kept.
pub async fn set_demo_passwords<S: Store>(store: &S, demo: &Demo) -> anyhow::Result<String> {
    let password = tutti_server::web::session::random_password()
        .map_err(|e| anyhow::anyhow!("{}", e.detail()))?;
    let hash = tutti_server::web::session::hash_password(&password)
        .map_err(|e| anyhow::anyhow!("{}", e.detail()))?;
    let ctx = Ctx::new(demo.org_id, None, SystemClock.now());
    let people = tutti_engine::signals::directory(store, demo.org_id).await?;
    for member in people.values().filter(|m| m.kind == MemberKind::Human) {
        store.set_password(&ctx, member.id, &hash).await?;
    }
    Ok(password)
}

fn ai_worker(name: &str, card: &str, teams: Vec<Uuid>) -> NewMember {
    NewMember {
        kind: MemberKind::Ai,
        name: name.into(),
        email: None,
        role: Role::Member,
        teams,
        role_card: Some(card.into()),
        provider: Some(DEMO_PROVIDER.into()),
        model: Some(DEMO_MODEL.into()),
    }
}

/// The calendar quarter `now` falls in.
fn quarter(now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let today = now.date_naive();
    let first_month = (today.month0() / 3) * 3 + 1;
    let start = NaiveDate::from_ymd_opt(today.year(), first_month, 1).unwrap_or(today);
    let end = start
        .checked_add_months(Months::new(3))
        .and_then(|d| d.pred_opt())
        .unwrap_or(today);
    (start, end)
}

struct Work<'a> {
    title: &'a str,
    description: &'a str,
    team: Uuid,
    assignee: Option<Uuid>,
    key_result: Option<Uuid>,
    kind: WorkKind,
    priority: Priority,
    /// Moves after creation, in order.
    moves: &'a [WorkState],
}

/// The provider the demo's AI workers move to with `tutti up --provider-url`.
pub const EXTERNAL_PROVIDER: &str = "extern";

/// Puts the demo's AI workers on an OpenAI-compatible server (Ollama,
/// vLLM, llama.cpp's server, a cloud API) instead of the embedded model:
/// the provider `extern` at `base_url` with `model`, priced at the embedded
/// model's internal rate so that ledger and budgets keep working. Every AI
/// worker still on the embedded model moves; run again with another model
/// to move them on.
pub async fn use_provider<S: Store>(
    store: &S,
    ctx: &Ctx,
    base_url: &str,
    model: &str,
    api_key_env: Option<&str>,
) -> anyhow::Result<()> {
    let providers = store.providers(ctx.org_id).await?;
    let provider = match providers.iter().find(|p| p.name == EXTERNAL_PROVIDER) {
        Some(p) if p.base_url.as_deref() == Some(base_url) => p.clone(),
        Some(p) => anyhow::bail!(
            "the demo already has the provider `{EXTERNAL_PROVIDER}` at {}; add another with `tutti provider add`",
            p.base_url.as_deref().unwrap_or("?")
        ),
        None => {
            store
                .create_provider(
                    ctx,
                    NewProvider {
                        name: EXTERNAL_PROVIDER.into(),
                        kind: ProviderKind::Openai,
                        base_url: Some(base_url.to_owned()),
                        api_key_env: api_key_env.map(str::to_owned),
                        api_key: None,
                        limits: tutti_domain::labour::CallLimits::default(),
                    },
                )
                .await?
        }
    };
    store
        .put_model(
            ctx,
            provider.id,
            NewModel {
                name: model.to_owned(),
                prices: DEMO_PRICES,
            },
        )
        .await?;
    let members = store
        .members(
            ctx.org_id,
            tutti_store::PageRequest::first(tutti_store::PageRequest::MAX_LIMIT),
        )
        .await?
        .items;
    for worker in members.iter().filter(|m| {
        m.kind == MemberKind::Ai
            && matches!(
                m.provider.as_deref(),
                Some(DEMO_PROVIDER | EXTERNAL_PROVIDER)
            )
    }) {
        let patch = tutti_store::MemberPatch {
            provider: Some(Some(EXTERNAL_PROVIDER.into())),
            model: Some(Some(model.to_owned())),
            ..Default::default()
        };
        store.update_member(ctx, worker.id, patch).await?;
    }
    Ok(())
}

/// The embedded model's internal rate per million tokens.
const DEMO_PRICES: Prices = Prices {
    input: 200_000,
    cached_input: 100_000,
    output: 800_000,
};

pub async fn seed<S: Store>(store: &S, now: DateTime<Utc>) -> anyhow::Result<Demo> {
    let org_name = "Lindner Gebäudetechnik GmbH";
    let (org, owner) = store
        .create_org(
            org_name,
            "EUR",
            person(
                "Katrin Lindner",
                "katrin.lindner@lindner-gebaeudetechnik.de",
                Role::Owner,
                vec![],
            )?,
            now,
        )
        .await?;
    let ctx = Ctx::new(org.id, Some(owner.id), now);
    // The firm sits in Germany: its times read in Berlin's.
    store.set_time_zone(&ctx, "Europe/Berlin").await?;

    let sales = store
        .create_team(
            &ctx,
            NewTeam {
                name: "Vertrieb".into(),
                parent_id: None,
                lead_id: None,
            },
        )
        .await?;
    let service = store
        .create_team(
            &ctx,
            NewTeam {
                name: "Kundenservice".into(),
                parent_id: None,
                lead_id: None,
            },
        )
        .await?;
    let tobias = store
        .create_member(
            &ctx,
            person(
                "Tobias Brandt",
                "tobias.brandt@lindner-gebaeudetechnik.de",
                Role::Lead,
                vec![sales.id],
            )?,
        )
        .await?;
    let aylin = store
        .create_member(
            &ctx,
            person(
                "Aylin Demir",
                "aylin.demir@lindner-gebaeudetechnik.de",
                Role::Lead,
                vec![service.id],
            )?,
        )
        .await?;
    let jonas = store
        .create_member(
            &ctx,
            person(
                "Jonas Weber",
                "jonas.weber@lindner-gebaeudetechnik.de",
                Role::Member,
                vec![service.id],
            )?,
        )
        .await?;
    store
        .create_member(
            &ctx,
            person(
                "Miriam Koch",
                "miriam.koch@lindner-gebaeudetechnik.de",
                Role::Viewer,
                vec![],
            )?,
        )
        .await?;
    store
        .update_team(
            &ctx,
            sales.id,
            TeamPatch {
                lead_id: Some(Some(tobias.id)),
                ..Default::default()
            },
        )
        .await?;
    store
        .update_team(
            &ctx,
            service.id,
            TeamPatch {
                lead_id: Some(Some(aylin.id)),
                ..Default::default()
            },
        )
        .await?;
    // The AI workers run on the embedded model. It costs no fees, but an
    // internal rate makes its use visible in the ledger and the budgets.
    let embedded = store
        .create_provider(
            &ctx,
            NewProvider {
                name: DEMO_PROVIDER.into(),
                kind: ProviderKind::Embedded,
                base_url: None,
                api_key_env: None,
                api_key: None,
                limits: tutti_domain::labour::CallLimits::default(),
            },
        )
        .await?;
    store
        .put_model(
            &ctx,
            embedded.id,
            NewModel {
                name: DEMO_MODEL.into(),
                prices: DEMO_PRICES,
            },
        )
        .await?;
    let ada = store
        .create_member(
            &ctx,
            ai_worker(
                "Ada (KI-Angebotsassistenz)",
                "Du bist Ada, die KI-Angebotsassistenz im Vertrieb von Lindner Gebäudetechnik. Du bereitest Angebote \
                 für Wartung und Modernisierung vor: klar gegliedert, mit Leistungsumfang, Terminen und offenen Fragen. \
                 Du versprichst nichts, was der Kundendienst nicht halten kann, und kennzeichnest Annahmen.",
                vec![sales.id],
            ),
        )
        .await?;
    let emil = store
        .create_member(
            &ctx,
            ai_worker(
                "Emil (KI-Serviceassistenz)",
                "Du bist Emil, die KI-Serviceassistenz im Kundenservice von Lindner Gebäudetechnik. Du sortierst \
                 Störungsmeldungen, entwirfst freundliche, verbindliche Antworten an Kundinnen und Kunden und fasst \
                 Einsatzberichte zusammen. Bei Gefahr (Gas, Wasser, Strom) verweist du sofort an den Notdienst.",
                vec![service.id],
            ),
        )
        .await?;

    // The sales team's own CRM agent works outside tutti: it claims its
    // work over MCP (`tutti mcp`), so its run waits in the queue for it.
    let kai = store
        .enrol_member(
            &ctx,
            ai_worker(
                "Kai (CRM-Agent, extern)",
                "Du bist Kai, der CRM-Agent des Vertriebs von Lindner Gebäudetechnik. Du arbeitest im CRM: \
                 du findest Angebote ohne Rückmeldung, schreibst kurze, freundliche Nachfass-Mails und trägst \
                 ein, wer wann geantwortet hat. Rabatte versprichst du nie selbst.",
                vec![sales.id],
            ),
            Enrolment {
                external: true,
                ..Enrolment::default()
            },
        )
        .await?;

    crate::demo_decisions::seed(
        store,
        org.id,
        &crate::demo_decisions::People {
            owner: &owner,
            sales: &sales,
            service: &service,
            sales_lead: &tobias,
            service_lead: &aylin,
            sales_ai: &ada,
            service_ai: &emil,
        },
        now,
    )
    .await?;
    let accepted = crate::demo_workforce::seed(
        store,
        org.id,
        &crate::demo_workforce::People {
            sales: &sales,
            service: &service,
            sales_lead: &tobias,
            service_lead: &aylin,
            sales_ai: &ada,
            service_ai: &emil,
        },
        now,
    )
    .await?;

    crate::demo_service::seed(
        store,
        org.id,
        &crate::demo_service::People {
            sales: &sales,
            service: &service,
            sales_lead: &tobias,
            service_lead: &aylin,
            technician: &jonas,
        },
        now,
    )
    .await?;
    let premium = store
        .service_products(org.id, tutti_store::PageRequest::first(100))
        .await?
        .items
        .into_iter()
        .find(|p| p.name == "Wartungsvertrag Premium")
        .map(|p| p.id)
        .ok_or_else(|| anyhow::anyhow!("the demo catalogue lacks Wartungsvertrag Premium"))?;
    crate::demo_flows::seed(
        store,
        org.id,
        &crate::demo_flows::People {
            owner: &owner,
            sales: &sales,
            service: &service,
            sales_lead: &tobias,
            service_lead: &aylin,
            technician: &jonas,
            service_ai: &emil,
            premium,
        },
        now,
    )
    .await?;
    crate::demo_routines::seed(
        store,
        org.id,
        &crate::demo_routines::People {
            sales: &sales,
            service: &service,
            sales_lead: &tobias,
            service_lead: &aylin,
            technician: &jonas,
            sales_ai: &ada,
            service_ai: &emil,
        },
        now,
    )
    .await?;

    crate::demo_pulse::seed(
        store,
        org.id,
        &crate::demo_pulse::People {
            service: &service,
            service_lead: &aylin,
            technician: &jonas,
        },
        now,
    )
    .await?;

    for (name, scope, scope_id, tokens, cost) in [
        (
            "KI-Budget Lindner gesamt",
            BudgetScope::Org,
            None,
            None,
            Some(5_000_000),
        ),
        (
            "Ada monatlich",
            BudgetScope::Worker,
            Some(ada.id),
            Some(200_000),
            None,
        ),
        (
            "Emil monatlich",
            BudgetScope::Worker,
            Some(emil.id),
            Some(200_000),
            None,
        ),
    ] {
        store
            .create_budget(
                &ctx,
                NewBudget {
                    name: name.into(),
                    scope,
                    scope_id,
                    period: BudgetPeriod::Month,
                    token_limit: tokens,
                    cost_limit: cost,
                    warn_percent: 80,
                    hard: true,
                },
            )
            .await?;
    }
    let (start, end) = quarter(now);
    let loyalty = store
        .create_objective(
            &ctx,
            NewObjective {
                title: "Kundenbindung im Wartungsgeschäft stärken".into(),
                why: "Wer uns seine Heizung anvertraut, soll es Jahr für Jahr wieder tun. Verlässlicher Service \
                      ist das, was Kundinnen und Kunden weitererzählen."
                    .into(),
                owner_id: Some(owner.id),
                team_id: None,
                period_start: start,
                period_end: end,
                parent_id: None,
            },
        )
        .await?;
    let faster = store
        .create_objective(
            &ctx,
            NewObjective {
                title: "Störungen schneller beheben".into(),
                why: "Eine kalte Wohnung im Winter wartet nicht. Jede Stunde, die wir schneller sind, zählt.".into(),
                owner_id: Some(aylin.id),
                team_id: Some(service.id),
                period_start: start,
                period_end: end,
                parent_id: Some(loyalty.id),
            },
        )
        .await?;
    let offers = store
        .create_objective(
            &ctx,
            NewObjective {
                title: "Angebote schneller und treffsicherer machen".into(),
                why: "Ein gutes Angebot, das rechtzeitig kommt, ist das erste Versprechen, das wir halten.".into(),
                owner_id: Some(tobias.id),
                team_id: Some(sales.id),
                period_start: start,
                period_end: end,
                parent_id: Some(loyalty.id),
            },
        )
        .await?;

    let kr = |title: &str, baseline: f64, target: f64, unit: &str, confidence: u8| NewKeyResult {
        title: title.into(),
        baseline,
        target,
        current: None,
        unit: unit.into(),
        confidence,
    };
    let renewals = store
        .create_key_result(
            &ctx,
            loyalty.id,
            kr("Verlängerungsquote Wartungsverträge", 62.0, 80.0, "%", 6),
        )
        .await?;
    let nps = store
        .create_key_result(
            &ctx,
            loyalty.id,
            kr("Weiterempfehlung (NPS)", 21.0, 40.0, "Punkte", 5),
        )
        .await?;
    let response = store
        .create_key_result(
            &ctx,
            faster.id,
            kr("Reaktionszeit bei Störungen", 24.0, 8.0, "h", 7),
        )
        .await?;
    let first_fix = store
        .create_key_result(&ctx, faster.id, kr("Erstlösungsquote", 55.0, 75.0, "%", 5))
        .await?;
    let lead_time = store
        .create_key_result(
            &ctx,
            offers.id,
            kr("Angebotsdurchlaufzeit", 10.0, 3.0, "Tage", 6),
        )
        .await?;
    let win_rate = store
        .create_key_result(&ctx, offers.id, kr("Abschlussquote", 18.0, 25.0, "%", 3))
        .await?;

    let mut check_ins = Vec::new();
    for (key_result, value, confidence, note) in [
        (renewals.id, 66.0, 6, "Erste Erinnerungswelle verschickt."),
        (response.id, 18.0, 7, "Notdienstplan greift."),
        (
            response.id,
            14.0,
            8,
            "Emil sortiert Meldungen vor, Disposition spart Zeit.",
        ),
        (first_fix.id, 57.0, 4, "Ersatzteile fehlen oft im Fahrzeug."),
        (
            first_fix.id,
            68.0,
            6,
            "Neue Grundausstattung in drei Fahrzeugen.",
        ),
        (lead_time.id, 7.0, 6, "Ada entwirft die Standardangebote."),
        (nps.id, 24.0, 5, "Umfrage nach Wartung eingeführt."),
    ] {
        let made = store
            .create_check_in(
                &ctx,
                key_result,
                NewCheckIn {
                    value,
                    confidence,
                    note: note.into(),
                },
            )
            .await?;
        check_ins.push((key_result, made.id));
    }
    crate::demo_workforce::evidence(
        store,
        org.id,
        &aylin,
        &accepted,
        [check_ins[2], check_ins[5]],
        now,
    )
    .await?;
    // The moving target the seeds speak of: the emergency contract now
    // promises four hours, so the key result follows the promise, and the
    // old target stays visible next to the new.
    store
        .update_key_result(
            &Ctx::new(org.id, Some(aylin.id), now),
            response.id,
            KeyResultPatch {
                target: Some(4.0),
                target_reason: Some(
                    "Der Notdienstvertrag verspricht jetzt 4 h Reaktionszeit; das Ziel folgt dem Versprechen."
                        .into(),
                ),
                ..KeyResultPatch::default()
            },
        )
        .await?;

    let work = [
        Work {
            title: "Kundinnen mit auslaufendem Wartungsvertrag anrufen",
            description: "Liste aus dem Vertragssystem, Schwerpunkt Verträge, die im nächsten Monat enden.",
            team: service.id,
            assignee: Some(jonas.id),
            key_result: Some(renewals.id),
            kind: WorkKind::Planned,
            priority: Priority::High,
            moves: &[WorkState::Ready, WorkState::Running],
        },
        Work {
            title: "Antwortvorlagen für Störungsmeldungen entwerfen",
            description: "Freundlich, verbindlich, mit nächstem Schritt und Zeitfenster.",
            team: service.id,
            assignee: Some(emil.id),
            key_result: Some(response.id),
            kind: WorkKind::Planned,
            priority: Priority::Normal,
            moves: &[WorkState::Ready],
        },
        Work {
            title: "Ersatzteil-Grundausstattung der Servicefahrzeuge festlegen",
            description: "Welche Teile fehlen beim Ersteinsatz am häufigsten? Auswertung der letzten 100 Einsätze.",
            team: service.id,
            assignee: Some(aylin.id),
            key_result: Some(first_fix.id),
            kind: WorkKind::Planned,
            priority: Priority::High,
            moves: &[WorkState::Ready, WorkState::Running, WorkState::Blocked],
        },
        Work {
            title: "Standardangebot Heizungswartung entwerfen",
            description: "Leistungsumfang, Preise nach Anlagentyp, Terminoptionen.",
            team: sales.id,
            assignee: Some(ada.id),
            key_result: Some(lead_time.id),
            kind: WorkKind::Planned,
            priority: Priority::Normal,
            moves: &[WorkState::Ready],
        },
        Work {
            title: "Einsatzbericht Heizungsausfall Kita Sonnenblume zusammenfassen",
            description: "Brenner startete nicht, Zündelektrode getauscht, Anlage läuft wieder. Kurz für die Kita-Leitung.",
            team: service.id,
            assignee: Some(emil.id),
            key_result: Some(response.id),
            kind: WorkKind::Unplanned,
            priority: Priority::High,
            moves: &[WorkState::Ready],
        },
        Work {
            title: "Angebot Wohnanlage Lindenhof nachfassen",
            description: "",
            team: sales.id,
            assignee: Some(tobias.id),
            key_result: Some(win_rate.id),
            kind: WorkKind::Planned,
            priority: Priority::Normal,
            moves: &[WorkState::Ready, WorkState::Running, WorkState::Done],
        },
        Work {
            title: "Heizungsausfall Kita Sonnenblume – Notdienst",
            description: "Anruf 6:40 Uhr, Brenner startet nicht.",
            team: service.id,
            assignee: Some(jonas.id),
            key_result: None,
            kind: WorkKind::Unplanned,
            priority: Priority::Urgent,
            moves: &[WorkState::Running, WorkState::Done],
        },
        Work {
            title: "Angebote ohne Rückmeldung seit 14 Tagen nachfassen",
            description: "Im CRM alle offenen Wartungsangebote ohne Antwort suchen, je eine kurze Nachfass-Mail \
                          entwerfen und die Antworten eintragen.",
            team: sales.id,
            assignee: Some(kai.id),
            key_result: Some(win_rate.id),
            kind: WorkKind::Planned,
            priority: Priority::Normal,
            moves: &[WorkState::Ready],
        },
        Work {
            title: "Messestand für die Regionalmesse organisieren",
            description: "Nicht mit einem Ziel verknüpft – gehört das zu unseren Prioritäten?",
            team: sales.id,
            assignee: None,
            key_result: None,
            kind: WorkKind::Planned,
            priority: Priority::Low,
            moves: &[],
        },
    ];
    for item in work {
        let created = store
            .create_work_item(
                &ctx,
                NewWorkItem {
                    title: item.title.into(),
                    description: item.description.into(),
                    team_id: Some(item.team),
                    assignee_id: item.assignee,
                    state: WorkState::Backlog,
                    kind: item.kind,
                    priority: item.priority,
                    due: Some(end),
                    parent_id: None,
                    key_result_id: item.key_result,
                    service_product_id: None,
                },
            )
            .await?;
        for state in item.moves {
            store
                .update_work_item(
                    &ctx,
                    created.id,
                    WorkItemPatch {
                        state: Some(*state),
                        ..Default::default()
                    },
                    &as_the_system,
                )
                .await?;
        }
    }
    Ok(Demo {
        org_id: org.id,
        org_name: org.name,
        owner_id: owner.id,
        owner_email: owner.email.unwrap_or_default(),
    })
}

/// The demo writes its own history as the system, not as a member: no
/// member's rights apply to it.
fn as_the_system(
    _: &tutti_domain::work::WorkItem,
    _: &WorkItemPatch,
) -> tutti_domain::RuleResult<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_quarter_holds_today() {
        let (start, end) = quarter("2026-11-21T10:00:00Z".parse().unwrap());
        assert_eq!(
            (start.to_string(), end.to_string()),
            ("2026-10-01".into(), "2026-12-31".into())
        );
        let (start, end) = quarter("2026-02-28T10:00:00Z".parse().unwrap());
        assert_eq!(
            (start.to_string(), end.to_string()),
            ("2026-01-01".into(), "2026-03-31".into())
        );
    }
}
