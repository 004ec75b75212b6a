//! The demo org's routines: the planned half of its service. The yearly
//! maintenance each contract customer bought, the weekly check of open
//! promises with its record (one week missed while nothing ran), the
//! weekly report Emil drafts for the service lead, the offers Ada follows
//! up, the monthly close on the first Monday, and one routine paused for
//! the winter.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use tutti_domain::org::{Member, Team};
use tutti_domain::routine::{Cadence, CatchUp, Schedule, Tz};
use tutti_domain::work::Priority;
use tutti_store::prelude::*;
use tutti_store::{Ctx, NewRoutine, PageRequest};
use uuid::Uuid;

/// Who takes part, as the demo made them.
pub struct People<'a> {
    pub sales: &'a Team,
    pub service: &'a Team,
    pub sales_lead: &'a Member,
    pub service_lead: &'a Member,
    pub technician: &'a Member,
    pub sales_ai: &'a Member,
    pub service_ai: &'a Member,
}

fn time(hour: u32, minute: u32) -> anyhow::Result<NaiveTime> {
    NaiveTime::from_hms_opt(hour, minute, 0)
        .ok_or_else(|| anyhow::anyhow!("no time {hour}:{minute}"))
}

fn weekly(days: &[u32], at: NaiveTime, starts: chrono::NaiveDate) -> Schedule {
    Schedule {
        cadence: Some(Cadence::Weekly),
        every: 1,
        days: days.to_vec(),
        rule: None,
        at,
        starts,
        ends: None,
    }
}

fn by_rule(rule: &str, at: NaiveTime, starts: chrono::NaiveDate) -> Schedule {
    Schedule {
        cadence: None,
        every: 1,
        days: vec![],
        rule: Some(rule.into()),
        at,
        starts,
        ends: None,
    }
}

pub async fn seed<S: Store>(
    store: &S,
    org_id: Uuid,
    people: &People<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let berlin: Tz = "Europe/Berlin"
        .parse()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let local_day = |at: DateTime<Utc>| at.with_timezone(&berlin).date_naive();
    let products = store
        .service_products(org_id, PageRequest::first(100))
        .await?
        .items;
    let product = |name: &str| {
        products
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.id)
            .ok_or_else(|| anyhow::anyhow!("the demo catalogue lacks {name}"))
    };
    let routine = |name: &str, schedule: Schedule, catch_up: CatchUp| NewRoutine {
        name: name.into(),
        description: String::new(),
        customer: String::new(),
        schedule,
        time_zone: None,
        catch_up,
        team_id: Some(people.service.id),
        assignee_id: None,
        key_result_id: None,
        service_product_id: None,
        priority: Priority::Normal,
        paused: false,
    };
    let mut plans: Vec<(&Member, DateTime<Utc>, NewRoutine)> = Vec::new();

    // The yearly maintenance under each contract, on the day it was signed.
    for (customer, contract, days_ahead) in [
        ("Familie Hoffmann", "Wartungsvertrag Premium", 9),
        (
            "Wohnungsbau Nord eG, Am Stadtpark 4–12",
            "Wartungsvertrag Premium",
            23,
        ),
        ("Bäckerei Sommer", "Wartungsvertrag Basis", 41),
    ] {
        let signed = local_day(now + Duration::days(days_ahead));
        plans.push((
            people.service_lead,
            now - Duration::days(300),
            NewRoutine {
                customer: customer.into(),
                description: "Heizung prüfen, reinigen und einstellen; Abgaswerte messen; Verschleißteile \
                              nach Vertrag tauschen. Termin zwei Wochen vorher mit der Kundschaft abstimmen."
                    .into(),
                assignee_id: Some(people.technician.id),
                service_product_id: Some(product(contract)?),
                ..routine("Jährliche Wartung", by_rule("FREQ=YEARLY", time(8, 0)?, signed), CatchUp::All)
            },
        ));
    }
    // Aylin checks the open promises every Monday; one week it was missed.
    let three_weeks_ago = now - Duration::days(22);
    plans.push((
        people.service_lead,
        three_weeks_ago,
        NewRoutine {
            description:
                "Welche Zusagen an Kundschaft sind offen, welche gefährdet, wer braucht Hilfe?"
                    .into(),
            assignee_id: Some(people.service_lead.id),
            ..routine(
                "Offene Zusagen prüfen",
                weekly(&[1], time(8, 30)?, local_day(three_weeks_ago)),
                CatchUp::Latest,
            )
        },
    ));
    // Emil drafts the weekly report for Aylin.
    plans.push((
        people.service_lead,
        now - Duration::days(2),
        NewRoutine {
            description: "Fasse für die Teamleitung zusammen: neue Störungen der Woche, offene und gefährdete \
                          Zusagen, geplante Wartungen der nächsten zwei Wochen, und wo Ersatzteile fehlen."
                .into(),
            assignee_id: Some(people.service_ai.id),
            ..routine(
                "Wochenbericht Kundendienst",
                weekly(&[1], time(7, 0)?, local_day(now + Duration::days(1))),
                CatchUp::Latest,
            )
        },
    ));
    // Ada follows up the week's offers on Tuesdays and Thursdays.
    plans.push((
        people.sales_lead,
        now - Duration::days(2),
        NewRoutine {
            description: "Geh die Angebote durch, die seit mehr als einer Woche offen sind, und entwirf je eine \
                          freundliche Nachfrage. Nichts versprechen, was der Kundendienst nicht zugesagt hat."
                .into(),
            team_id: Some(people.sales.id),
            assignee_id: Some(people.sales_ai.id),
            ..routine(
                "Angebote nachfassen",
                weekly(&[2, 4], time(9, 0)?, local_day(now + Duration::days(1))),
                CatchUp::Skip,
            )
        },
    ));
    // The monthly close, on the first Monday of each month.
    plans.push((
        people.service_lead,
        now - Duration::days(2),
        NewRoutine {
            description: "Einsätze, Wartungen und Notdienste des Monats abschließen; Anteil geplanter Arbeit \
                          mit dem Vormonat vergleichen."
                .into(),
            assignee_id: Some(people.service_lead.id),
            priority: Priority::High,
            ..routine(
                "Monatsabschluss Kundendienst",
                by_rule("FREQ=MONTHLY;BYDAY=1MO", time(10, 0)?, local_day(now + Duration::days(1))),
                CatchUp::All,
            )
        },
    ));
    // Paused over the winter: the drinking-water check of the housing estate.
    plans.push((
        people.service_lead,
        now - Duration::days(60),
        NewRoutine {
            customer: "Wohnungsbau Nord eG, Am Stadtpark 4–12".into(),
            assignee_id: Some(people.technician.id),
            paused: true,
            ..routine(
                "Legionellenprüfung Trinkwasser",
                weekly(&[3], time(9, 0)?, local_day(now - Duration::days(60))),
                CatchUp::All,
            )
        },
    ));

    for (owner, made_at, mut new) in plans {
        new.schedule = new.schedule.checked()?;
        let ctx = Ctx::new(org_id, Some(owner.id), made_at);
        let made = store.create_routine(&ctx, new).await?;
        if made.name == "Offene Zusagen prüfen" {
            // Fired on time the first Monday, then not until now: the
            // second Monday is recorded as superseded by the third.
            let first = made
                .next_due
                .ok_or_else(|| anyhow::anyhow!("no first Monday"))?;
            store
                .fire_routine(org_id, made.id, first + Duration::minutes(5))
                .await?;
            store.fire_routine(org_id, made.id, now).await?;
        }
    }
    Ok(())
}
