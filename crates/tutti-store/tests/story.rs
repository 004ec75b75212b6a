//! The storage contract as one story, told to both backends: an org is set up,
//! plans its work, checks in, and every step lands in a chain that verifies.

#![expect(clippy::unwrap_used)]

use chrono::{DateTime, NaiveDate, Utc};
use tutti_domain::org::{MemberKind, Role};
use tutti_domain::validate::Email;
use tutti_domain::work::{Priority, WorkKind, WorkState};
use tutti_store::*;
use uuid::Uuid;

fn now() -> DateTime<Utc> {
    "2026-11-02T09:30:00.123456789Z".parse().unwrap()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn human(name: &str, email: &str, role: Role) -> NewMember {
    NewMember {
        kind: MemberKind::Human,
        name: name.into(),
        email: Some(Email::parse("email", email).unwrap()),
        role,
        teams: vec![],
        role_card: None,
        provider: None,
        model: None,
    }
}

/// The store applies whatever rule the engine passes; these tests allow all.
fn anyone(_: &tutti_domain::work::WorkItem, _: &WorkItemPatch) -> tutti_domain::RuleResult<()> {
    Ok(())
}

fn work(title: &str) -> NewWorkItem {
    NewWorkItem {
        title: title.into(),
        description: String::new(),
        team_id: None,
        assignee_id: None,
        state: WorkState::Backlog,
        kind: WorkKind::Planned,
        priority: Priority::Normal,
        due: None,
        parent_id: None,
        key_result_id: None,
        service_product_id: None,
    }
}

async fn story<S: Store>(store: S) {
    store.migrate().await.unwrap();
    // Migrating twice is harmless.
    store.migrate().await.unwrap();

    let (org, owner) = store
        .create_org(
            "Müller Haustechnik GmbH",
            "eur",
            human("Petra Müller", "petra@mueller-haustechnik.de", Role::Owner),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(org.currency, "EUR");
    let ctx = Ctx::new(org.id, Some(owner.id), now());

    // Teams and members.
    let service = store
        .create_team(
            &ctx,
            NewTeam {
                name: "Kundendienst".into(),
                parent_id: None,
                lead_id: Some(owner.id),
            },
        )
        .await
        .unwrap();
    let mut jonas = human("Jonas Weber", "jonas@mueller-haustechnik.de", Role::Member);
    jonas.teams = vec![service.id];
    let jonas = store.create_member(&ctx, jonas).await.unwrap();
    assert_eq!(jonas.teams, vec![service.id]);
    let duplicate = store
        .create_member(
            &ctx,
            human("Jonas W.", "JONAS@mueller-haustechnik.de", Role::Member),
        )
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );
    let ai_lead = NewMember {
        kind: MemberKind::Ai,
        role: Role::Lead,
        email: None,
        ..human("Ada", "x@y.de", Role::Lead)
    };
    assert!(
        matches!(store.create_member(&ctx, ai_lead).await, Err(StoreError::Invalid(e)) if e.field == "role")
    );

    // A team cannot become its own ancestor.
    let sub = store
        .create_team(
            &ctx,
            NewTeam {
                name: "Notdienst".into(),
                parent_id: Some(service.id),
                lead_id: None,
            },
        )
        .await
        .unwrap();
    let cycle = store
        .update_team(
            &ctx,
            service.id,
            TeamPatch {
                parent_id: Some(Some(sub.id)),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(cycle, Err(StoreError::Invalid(e)) if e.field == "parent_id"));

    // The lead of a parent team leads the teams below it too.
    let token_hash = "a".repeat(64);
    store
        .create_token(&ctx, owner.id, "laptop", &token_hash)
        .await
        .unwrap();
    let actor = store.actor_by_token(&token_hash).await.unwrap().unwrap();
    assert_eq!(actor.member_id, owner.id);
    assert!(actor.led_teams.contains(&service.id) && actor.led_teams.contains(&sub.id));
    assert!(
        store
            .actor_by_token(&"b".repeat(64))
            .await
            .unwrap()
            .is_none()
    );

    // Strategy.
    let parent = store
        .create_objective(
            &ctx,
            NewObjective {
                title: "Stammkunden halten".into(),
                why: "Wer einmal bei uns war, soll wiederkommen.".into(),
                owner_id: Some(owner.id),
                team_id: Some(service.id),
                period_start: date("2026-10-01"),
                period_end: date("2026-12-31"),
                parent_id: None,
            },
        )
        .await
        .unwrap();
    let child = store
        .create_objective(
            &ctx,
            NewObjective {
                title: "Wartungsverträge verlängern".into(),
                why: String::new(),
                owner_id: None,
                team_id: None,
                period_start: date("2026-10-01"),
                period_end: date("2026-12-31"),
                parent_id: Some(parent.id),
            },
        )
        .await
        .unwrap();
    let backwards = NewObjective {
        period_end: date("2026-01-01"),
        parent_id: None,
        ..NewObjective {
            title: "x".into(),
            why: String::new(),
            owner_id: None,
            team_id: None,
            period_start: date("2026-10-01"),
            period_end: date("2026-12-31"),
            parent_id: None,
        }
    };
    assert!(
        matches!(store.create_objective(&ctx, backwards).await, Err(StoreError::Invalid(e)) if e.field == "period_end")
    );

    let renewals = store
        .create_key_result(
            &ctx,
            child.id,
            NewKeyResult {
                title: "Verlängerungsquote".into(),
                baseline: 60.0,
                target: 80.0,
                current: None,
                unit: "%".into(),
                confidence: 6,
            },
        )
        .await
        .unwrap();
    assert_eq!(renewals.current, 60.0);
    assert_eq!(renewals.progress, 0.0);

    let check_in = store
        .create_check_in(
            &ctx,
            renewals.id,
            NewCheckIn {
                value: 70.0,
                confidence: 7,
                note: "Gute Woche".into(),
            },
        )
        .await
        .unwrap();
    let renewals = store.key_result(org.id, renewals.id).await.unwrap();
    assert_eq!(
        (renewals.current, renewals.confidence, renewals.progress),
        (70.0, 7, 0.5)
    );
    let history = store
        .check_ins(org.id, renewals.id, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(history.items, vec![check_in]);

    let forest = store.objective_forest(org.id, &[parent.id]).await.unwrap();
    assert_eq!(forest.objectives, vec![parent.clone(), child.clone()]);
    assert_eq!(forest.key_results, vec![renewals.clone()]);
    assert_eq!(
        store
            .objective_forest(org.id, &[child.id])
            .await
            .unwrap()
            .objectives,
        vec![child.clone()]
    );
    let foreign = store
        .objective_forest(Uuid::now_v7(), &[parent.id])
        .await
        .unwrap();
    assert!(foreign.objectives.is_empty() && foreign.key_results.is_empty());
    let cycle = store
        .update_objective(
            &ctx,
            parent.id,
            ObjectivePatch {
                parent_id: Some(Some(child.id)),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(cycle, Err(StoreError::Invalid(e)) if e.field == "parent_id"));

    // Work, aligned and not.
    let mut aligned = work("Kunden mit auslaufendem Vertrag anrufen");
    aligned.key_result_id = Some(renewals.id);
    aligned.assignee_id = Some(jonas.id);
    let aligned = store.create_work_item(&ctx, aligned).await.unwrap();
    let loose = store
        .create_work_item(&ctx, work("Werkstatt aufräumen"))
        .await
        .unwrap();
    let mut bad = work("Geisterarbeit");
    bad.key_result_id = Some(Uuid::now_v7());
    assert!(
        matches!(store.create_work_item(&ctx, bad).await, Err(StoreError::Invalid(e)) if e.field == "key_result_id")
    );

    let by_kr = store
        .work_items(
            org.id,
            &WorkFilter {
                key_result_id: Some(renewals.id),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        by_kr.items.iter().map(|w| w.id).collect::<Vec<_>>(),
        vec![aligned.id]
    );
    let unaligned = store
        .work_items(
            org.id,
            &WorkFilter {
                unaligned: true,
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        unaligned.items.iter().map(|w| w.id).collect::<Vec<_>>(),
        vec![loose.id]
    );

    // Pagination walks every item exactly once.
    for i in 0..5 {
        store
            .create_work_item(&ctx, work(&format!("Aufgabe {i}")))
            .await
            .unwrap();
    }
    let mut seen = vec![];
    let mut after = None;
    loop {
        let page = store
            .work_items(
                org.id,
                &WorkFilter::default(),
                PageRequest { after, limit: 3 },
            )
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|w| w.id));
        match page.next_cursor {
            Some(c) => after = Some(c.parse().unwrap()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 7);

    // The life cycle refuses illegal moves and writes nothing for them.
    let skip = store
        .update_work_item(
            &ctx,
            aligned.id,
            WorkItemPatch {
                state: Some(WorkState::Done),
                ..Default::default()
            },
            &anyone,
        )
        .await;
    assert!(matches!(skip, Err(StoreError::Conflict(m)) if m.contains("backlog")));
    assert_eq!(
        store.work_item(org.id, aligned.id).await.unwrap().state,
        WorkState::Backlog
    );
    let moved = store
        .update_work_item(
            &ctx,
            aligned.id,
            WorkItemPatch {
                state: Some(WorkState::Ready),
                ..Default::default()
            },
            &anyone,
        )
        .await
        .unwrap();
    assert_eq!(moved.state, WorkState::Ready);

    // Another org sees none of it.
    let (other, other_owner) = store
        .create_org(
            "Schmidt Elektro",
            "EUR",
            human("Karl Schmidt", "karl@schmidt-elektro.de", Role::Owner),
            now(),
        )
        .await
        .unwrap();
    let other_ctx = Ctx::new(other.id, Some(other_owner.id), now());
    assert!(matches!(
        store.work_item(other.id, aligned.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.objective(other.id, parent.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        store
            .work_items(other.id, &WorkFilter::default(), PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let mut foreign = work("Fremde Arbeit");
    foreign.key_result_id = Some(renewals.id);
    assert!(
        matches!(store.create_work_item(&other_ctx, foreign).await, Err(StoreError::Invalid(e)) if e.field == "key_result_id")
    );
    assert!(matches!(
        store
            .update_work_item(
                &other_ctx,
                aligned.id,
                WorkItemPatch {
                    title: Some("mine".into()),
                    ..Default::default()
                },
                &anyone,
            )
            .await,
        Err(StoreError::NotFound { .. })
    ));

    // Idempotency: the response is kept with the write.
    let mut keyed = ctx.clone();
    keyed.idempotency = Some(IdempotencyKey {
        key: "k-1".into(),
        request_hash: "h".into(),
    });
    let first = store
        .create_work_item(&keyed, work("Einmalig"))
        .await
        .unwrap();
    let kept = store
        .idempotent_response(org.id, owner.id, "k-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.status, 201);
    assert_eq!(
        serde_json::from_str::<tutti_domain::work::WorkItem>(&kept.body).unwrap(),
        first
    );
    assert!(matches!(
        store.create_work_item(&keyed, work("Einmalig")).await,
        Err(StoreError::IdempotencyRace)
    ));

    // Every change is in the chain, and the chain verifies.
    let events = store
        .events(
            org.id,
            &EventFilter {
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let actions: Vec<&str> = events.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions[..2], ["org.created", "member.created"]);
    assert!(actions.contains(&"check_in.created") && actions.contains(&"work_item.updated"));
    assert_eq!(
        events.items.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=events.items.len() as i64).collect::<Vec<_>>()
    );
    assert_eq!(
        store.verify_chain(org.id).await.unwrap(),
        Ok(events.items.len() as i64)
    );
    assert_eq!(store.verify_chain(other.id).await.unwrap(), Ok(2));
}

/// Writers racing on one org still produce one unbroken chain.
async fn concurrent_writes_keep_the_chain<S: Store>(store: S) {
    store.migrate().await.unwrap();
    let (org, owner) = store
        .create_org(
            "Bäckerei Sonnenschein",
            "EUR",
            human("Lena", "lena@sonnenschein.de", Role::Owner),
            now(),
        )
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        let ctx = Ctx::new(org.id, Some(owner.id), now());
        tasks.push(tokio::spawn(async move {
            store
                .create_work_item(&ctx, work(&format!("Brot {i}")))
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(store.verify_chain(org.id).await.unwrap(), Ok(42));
}

/// A check-in lands whole or not at all, and interleaves with other writers
/// in one chain. (On SQLite it is written through the direct path, so this
/// holds that path to what every other write does.)
async fn check_ins_land_whole_or_not_at_all<S: Store>(store: S) {
    store.migrate().await.unwrap();
    let (org, owner) = store
        .create_org(
            "Kälte Klima Krüger",
            "EUR",
            human("Kai Krüger", "kai@kkk.de", Role::Owner),
            now(),
        )
        .await
        .unwrap();
    let (other, other_owner) = store
        .create_org(
            "Anderswo AG",
            "EUR",
            human("Olga", "olga@anderswo.de", Role::Owner),
            now(),
        )
        .await
        .unwrap();
    let ctx = Ctx::new(org.id, Some(owner.id), now());
    let objective = NewObjective {
        title: "Wartung pünktlich".into(),
        why: String::new(),
        owner_id: None,
        team_id: None,
        period_start: date("2026-10-01"),
        period_end: date("2026-12-31"),
        parent_id: None,
    };
    let key_result = NewKeyResult {
        title: "Termine eingehalten".into(),
        baseline: 0.0,
        target: 100.0,
        current: None,
        unit: "%".into(),
        confidence: 5,
    };
    let objective_id = store
        .create_objective(&ctx, objective.clone())
        .await
        .unwrap()
        .id;
    let on_time = store
        .create_key_result(&ctx, objective_id, key_result.clone())
        .await
        .unwrap();
    let other_ctx = Ctx::new(other.id, Some(other_owner.id), now());
    let foreign_objective = store.create_objective(&other_ctx, objective).await.unwrap();
    let foreign = store
        .create_key_result(&other_ctx, foreign_objective.id, key_result)
        .await
        .unwrap();
    let check_in = |value: f64| NewCheckIn {
        value,
        confidence: 8,
        note: "läuft".into(),
    };
    let chain_length =
        |store: S, org_id: Uuid| async move { store.verify_chain(org_id).await.unwrap().unwrap() };
    let before = chain_length(store.clone(), org.id).await;

    // Refused: an unknown key result, and another org's.
    for id in [Uuid::now_v7(), foreign.id] {
        assert!(matches!(
            store.create_check_in(&ctx, id, check_in(10.0)).await,
            Err(StoreError::NotFound {
                entity: "key result"
            })
        ));
    }
    assert_eq!(
        store
            .key_result(other.id, foreign.id)
            .await
            .unwrap()
            .current,
        0.0
    );

    // Refused last, after the key result moved and the event was appended:
    // a second check-in under a kept idempotency key. Nothing of it stays.
    let mut keyed = ctx.clone();
    keyed.idempotency = Some(IdempotencyKey {
        key: "ci-1".into(),
        request_hash: "h".into(),
    });
    let first = store
        .create_check_in(&keyed, on_time.id, check_in(20.0))
        .await
        .unwrap();
    let kept = store
        .idempotent_response(org.id, owner.id, "ci-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.status, 201);
    assert_eq!(
        serde_json::from_str::<tutti_domain::strategy::CheckIn>(&kept.body).unwrap(),
        first
    );
    assert!(matches!(
        store
            .create_check_in(&keyed, on_time.id, check_in(99.0))
            .await,
        Err(StoreError::IdempotencyRace)
    ));
    let moved = store.key_result(org.id, on_time.id).await.unwrap();
    assert_eq!((moved.current, moved.progress), (20.0, 0.2));
    let history = store
        .check_ins(org.id, on_time.id, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(history.items, vec![first]);
    assert_eq!(chain_length(store.clone(), org.id).await, before + 1);

    // Check-ins and other writes racing on the one writer: all land, in one chain.
    let mut tasks = Vec::new();
    for i in 0..30 {
        let store = store.clone();
        let ctx = ctx.clone();
        let key_result_id = on_time.id;
        tasks.push(tokio::spawn(async move {
            if i % 3 == 0 {
                store
                    .create_work_item(&ctx, work(&format!("Anlage {i}")))
                    .await
                    .map(|_| ())
            } else {
                store
                    .create_check_in(&ctx, key_result_id, check_in(f64::from(i)))
                    .await
                    .map(|_| ())
            }
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let history = store
        .check_ins(
            org.id,
            on_time.id,
            PageRequest {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(history.items.len(), 21);
    assert_eq!(chain_length(store.clone(), org.id).await, before + 31);
    assert_eq!(chain_length(store, other.id).await, 4);
}

tutti_store::on_both_backends!(story, story_on_sqlite, story_on_postgres);

tutti_store::on_both_backends!(
    check_ins_land_whole_or_not_at_all,
    check_ins_land_whole_or_not_at_all_on_sqlite,
    check_ins_land_whole_or_not_at_all_on_postgres
);

tutti_store::on_both_backends!(
    concurrent_writes_keep_the_chain,
    concurrent_writes_keep_the_chain_on_sqlite,
    concurrent_writes_keep_the_chain_on_postgres
);
