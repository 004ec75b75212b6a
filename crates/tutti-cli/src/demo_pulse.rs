//! The demo org's voice and load: the service team's biweekly pulse with
//! three rounds (its eNPS falling in the round open today, so the drop
//! alert fires), the Notdienst — a small team below the service team, with
//! a pulse of its own that stays withheld because too few can answer — and
//! a technician who carries more than the load limits allow.

use chrono::{DateTime, Days, Duration, Utc};
use tutti_domain::org::{Member, Role, Team};
use tutti_domain::pulse::{Answer, ENPS_DROP_DEFAULT, Repeat, SCORE_DROP_DEFAULT};
use tutti_domain::work::{Priority, WorkKind, WorkState};
use tutti_store::prelude::*;
use tutti_store::{Ctx, NewSurvey, NewTeam, NewWorkItem};
use uuid::Uuid;

use crate::demo_people::person;

/// Who takes part, as the demo made them.
pub struct People<'a> {
    pub service: &'a Team,
    pub service_lead: &'a Member,
    pub technician: &'a Member,
}

/// One person's answers as the demo gives them: satisfied, clear, load,
/// eNPS, comment.
type Given = (u8, u8, u8, u8, &'static str);

/// One person's answers to the starter questions: satisfaction, knowing
/// what is expected, a manageable load, the eNPS, a comment.
fn answers(satisfied: u8, clear: u8, load: u8, enps: u8, comment: &str) -> Vec<Option<Answer>> {
    vec![
        Some(Answer::Score(satisfied)),
        Some(Answer::Score(clear)),
        Some(Answer::Score(load)),
        Some(Answer::Score(enps)),
        (!comment.is_empty()).then(|| Answer::Comment(comment.to_owned())),
    ]
}

pub async fn seed<S: Store>(
    store: &S,
    org_id: Uuid,
    people: &People<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let ctx = Ctx::new(org_id, Some(people.service_lead.id), now);
    let mut team = vec![people.service_lead.clone(), people.technician.clone()];
    for (name, email) in [
        ("Lukas Hoffmann", "lukas.hoffmann"),
        ("Sabine Wolf", "sabine.wolf"),
        ("Petra Schulz", "petra.schulz"),
        ("Mehmet Yılmaz", "mehmet.yilmaz"),
    ] {
        let email = format!("{email}@lindner-gebaeudetechnik.de");
        team.push(
            store
                .create_member(
                    &ctx,
                    person(name, &email, Role::Member, vec![people.service.id])?,
                )
                .await?,
        );
    }
    let notdienst = store
        .create_team(
            &ctx,
            NewTeam {
                name: "Notdienst".into(),
                parent_id: Some(people.service.id),
                lead_id: Some(people.service_lead.id),
            },
        )
        .await?;
    let mut on_call = Vec::new();
    for (name, email) in [
        ("Dennis Krüger", "dennis.krueger"),
        ("Nora Albrecht", "nora.albrecht"),
    ] {
        let email = format!("{email}@lindner-gebaeudetechnik.de");
        on_call.push(
            store
                .create_member(
                    &ctx,
                    person(
                        name,
                        &email,
                        Role::Member,
                        vec![people.service.id, notdienst.id],
                    )?,
                )
                .await?,
        );
    }

    // Three rounds, the third opening today.
    let today = now
        .with_timezone(&store.org(org_id).await?.zone())
        .date_naive();
    let first = today - Days::new(28);
    let made = Ctx::new(
        org_id,
        Some(people.service_lead.id),
        now - Duration::days(29),
    );
    let pulse = tutti_engine::pulse::create(
        store,
        &actor(store, org_id, people.service_lead).await?,
        &made,
        NewSurvey {
            team_id: people.service.id,
            title: "Puls Kundenservice".into(),
            questions: tutti_domain::pulse::starter_questions(true),
            opens_on: first,
            closes_on: first + Days::new(4),
            repeat: Repeat::Biweekly,
            enps_drop: ENPS_DROP_DEFAULT,
            score_drop: SCORE_DROP_DEFAULT,
        },
    )
    .await?;
    let everyone: Vec<&Member> = team.iter().chain(&on_call).collect();
    // Round by round: (satisfied, clear, load, eNPS, comment) per person.
    let rounds: [Vec<Given>; 3] = [
        vec![
            (8, 4, 4, 9, "Die neue Tourenplanung hilft."),
            (7, 4, 3, 8, ""),
            (8, 5, 4, 10, "Gutes Miteinander im Team."),
            (7, 3, 3, 7, ""),
            (6, 4, 3, 9, ""),
            (8, 4, 4, 9, "Ersatzteile kommen schneller."),
            (7, 4, 3, 6, ""),
            (6, 3, 3, 8, ""),
        ],
        vec![
            (7, 4, 3, 9, ""),
            (6, 3, 2, 7, "Zu viele Notdiensteinsätze am Wochenende."),
            (8, 4, 3, 9, ""),
            (6, 3, 2, 6, ""),
            (7, 4, 3, 8, "Die Übergabe vom Vertrieb ist oft unklar."),
            (7, 4, 3, 9, ""),
            (6, 3, 2, 6, ""),
            (7, 3, 3, 8, ""),
        ],
        // Today's round: six have answered so far, and it fell.
        vec![
            (
                5,
                3,
                2,
                6,
                "Versprechen aus dem Vertrieb sind kaum zu halten.",
            ),
            (4, 3, 1, 5, "Ich schaffe meine Tickets nicht mehr."),
            (7, 4, 3, 8, ""),
            (5, 3, 2, 6, "Wir brauchen eine zweite Kraft im Notdienst."),
            (6, 4, 2, 7, ""),
            (6, 3, 2, 9, ""),
        ],
    ];
    for (round, given) in rounds.iter().enumerate() {
        let at = now - Duration::days(28 - 14 * round as i64);
        for (who, (satisfied, clear, load, enps, comment)) in everyone.iter().zip(given) {
            tutti_engine::pulse::answer(
                store,
                &actor(store, org_id, who).await?,
                &Ctx::new(org_id, Some(who.id), at),
                pulse.id,
                answers(*satisfied, *clear, *load, *enps, comment),
            )
            .await?;
        }
    }

    // The Notdienst's own pulse: two can answer, so nothing will show.
    let small = tutti_engine::pulse::create(
        store,
        &actor(store, org_id, people.service_lead).await?,
        &ctx,
        NewSurvey {
            team_id: notdienst.id,
            title: "Puls Notdienst".into(),
            questions: tutti_domain::pulse::starter_questions(true),
            opens_on: today,
            closes_on: today + Days::new(4),
            repeat: Repeat::Once,
            enps_drop: ENPS_DROP_DEFAULT,
            score_drop: SCORE_DROP_DEFAULT,
        },
    )
    .await?;
    for who in &on_call {
        tutti_engine::pulse::answer(
            store,
            &actor(store, org_id, who).await?,
            &Ctx::new(org_id, Some(who.id), now),
            small.id,
            answers(5, 3, 2, 6, "Die Rufbereitschaft ist zu dünn besetzt."),
        )
        .await?;
    }

    // The technician carries more than the limits allow: calls piling up,
    // three of them past their date.
    for (title, days_late) in [
        ("Heizung fällt nachts aus · Familie Becker", 3),
        ("Warmwasser lauwarm · Praxis Dr. Sommer", 2),
        ("Druckverlust Heizkreis · Kita Sonnenschein", 1),
        ("Thermostat tauschen · Bäckerei Korn", -2),
        ("Geräusche an der Pumpe · Familie Yıldız", -3),
        ("Abgaswerte prüfen · Hotel Stadtblick", -5),
    ] {
        store
            .create_work_item(
                &ctx,
                NewWorkItem {
                    title: title.into(),
                    description: String::new(),
                    team_id: Some(people.service.id),
                    assignee_id: Some(people.technician.id),
                    state: WorkState::Ready,
                    kind: WorkKind::Unplanned,
                    priority: Priority::High,
                    due: today.checked_sub_signed(Duration::days(days_late)),
                    parent_id: None,
                    key_result_id: None,
                    service_product_id: None,
                },
            )
            .await?;
    }
    Ok(())
}

async fn actor<S: Store>(
    store: &S,
    org_id: Uuid,
    member: &Member,
) -> anyhow::Result<tutti_domain::access::Actor> {
    store
        .actor(org_id, member.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("{} cannot act", member.name))
}
