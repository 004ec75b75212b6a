//! The AI-labour contract, told to both backends: a run is queued, claimed,
//! metered, reviewed and revised; hard budgets hold under a crowd of
//! concurrent reservations; a crashed run is recovered without double charges.

#![expect(clippy::unwrap_used, clippy::panic)]

use chrono::{DateTime, Duration, Utc};
use tutti_domain::labour::{
    BudgetPeriod, BudgetScope, LedgerGroup, MaxTokens, Prices, ProviderKind, RunStatus, Tokens,
    Verdict,
};
use tutti_domain::org::{MemberKind, Role};
use tutti_domain::validate::Email;
use tutti_domain::work::{Priority, WorkKind, WorkState};
use tutti_store::*;
use uuid::Uuid;

fn now() -> DateTime<Utc> {
    "2026-11-21T09:00:00Z".parse().unwrap()
}

struct Setup {
    org: Uuid,
    owner: Uuid,
    worker: Uuid,
    item: Uuid,
}

async fn setup<S: Store>(store: &S) -> Setup {
    store.migrate().await.unwrap();
    let (org, owner) = store
        .create_org(
            "Lindner Gebäudetechnik GmbH",
            "EUR",
            NewMember {
                kind: MemberKind::Human,
                name: "Katrin Lindner".into(),
                email: Some(Email::parse("email", "katrin@lindner.de").unwrap()),
                role: Role::Owner,
                teams: vec![],
                role_card: None,
                provider: None,
                model: None,
            },
            now(),
        )
        .await
        .unwrap();
    let ctx = Ctx::new(org.id, Some(owner.id), now());
    let worker = ai_worker(
        store,
        &ctx,
        "Aiko",
        NewProvider {
            name: "local".into(),
            kind: ProviderKind::Embedded,
            base_url: None,
            api_key_env: None,
            api_key: None,
            limits: tutti_domain::labour::CallLimits::default(),
        },
        NewModel {
            name: "smollm2".into(),
            prices: Prices {
                input: 100_000,
                cached_input: 50_000,
                output: 400_000,
            },
        },
    )
    .await;
    let objective = store
        .create_objective(
            &ctx,
            NewObjective {
                title: "Wartung verlässlich machen".into(),
                why: "Damit keine Heizung im Winter ausfällt.".into(),
                owner_id: Some(owner.id),
                team_id: None,
                period_start: "2026-10-01".parse().unwrap(),
                period_end: "2026-12-31".parse().unwrap(),
                parent_id: None,
            },
        )
        .await
        .unwrap();
    let kr = store
        .create_key_result(
            &ctx,
            objective.id,
            NewKeyResult {
                title: "Wartungsquote 95 %".into(),
                baseline: 80.0,
                target: 95.0,
                current: None,
                unit: "%".into(),
                confidence: 6,
            },
        )
        .await
        .unwrap();
    let item = store
        .create_work_item(
            &ctx,
            NewWorkItem {
                title: "Wartungsplan für Dezember entwerfen".into(),
                description: "Alle Verträge mit fälliger Wartung".into(),
                team_id: None,
                assignee_id: Some(worker),
                state: WorkState::Backlog,
                kind: WorkKind::Planned,
                priority: Priority::High,
                due: None,
                parent_id: None,
                key_result_id: Some(kr.id),
                service_product_id: None,
            },
        )
        .await
        .unwrap();
    Setup {
        org: org.id,
        owner: owner.id,
        worker,
        item: item.id,
    }
}

/// A provider with one model, and an AI worker on it; returns the worker.
async fn ai_worker<S: Store>(
    store: &S,
    ctx: &Ctx,
    name: &str,
    provider: NewProvider,
    model: NewModel,
) -> Uuid {
    let (provider_name, model_name) = (provider.name.clone(), model.name.clone());
    let provider = store.create_provider(ctx, provider).await.unwrap();
    store.put_model(ctx, provider.id, model).await.unwrap();
    let worker = store
        .create_member(
            ctx,
            NewMember {
                kind: MemberKind::Ai,
                name: name.into(),
                email: None,
                role: Role::Member,
                teams: vec![],
                role_card: Some(format!("Du bist {name}.")),
                provider: Some(provider_name),
                model: Some(model_name),
            },
        )
        .await
        .unwrap();
    worker.id
}

/// A ready task, not aligned to a key result, for `worker`.
fn task_for(worker: Uuid, title: &str) -> NewWorkItem {
    NewWorkItem {
        title: title.into(),
        description: String::new(),
        team_id: None,
        assignee_id: Some(worker),
        state: WorkState::Ready,
        kind: WorkKind::Planned,
        priority: Priority::Normal,
        due: None,
        parent_id: None,
        key_result_id: None,
        service_product_id: None,
    }
}

/// An engine process that has the embedded model.
fn node(name: &str) -> EngineNode {
    EngineNode {
        name: name.into(),
        embedded_model: true,
    }
}

fn charge(worker: Uuid, input: i64, output: i64) -> Charge {
    Charge {
        worker_id: worker,
        run_id: None,
        work_item_id: None,
        route_provider: "local".into(),
        route_model: "smollm2".into(),
        prices: Prices {
            input: 100_000,
            cached_input: 50_000,
            output: 400_000,
        },
        input_tokens: input,
        max_output_tokens: output,
        expires_at: now() + Duration::minutes(10),
        holder: None,
    }
}

async fn assert_balanced<S: Store>(store: &S, org: Uuid) -> LedgerTotals {
    assert_eq!(
        store.unbalanced_reservations(org).await.unwrap(),
        Vec::<Uuid>::new()
    );
    let totals = store.ledger_totals(org).await.unwrap();
    assert_eq!(totals.open_reservations, 0);
    assert_eq!(
        totals.reserved_tokens,
        totals.settled_tokens + totals.released_tokens
    );
    assert_eq!(
        totals.reserved_cost,
        totals.settled_cost + totals.released_cost
    );
    totals
}

async fn run_life<S: Store>(store: S) {
    let s = setup(&store).await;
    let ctx = Ctx::new(s.org, Some(s.owner), now());
    store
        .create_budget(
            &ctx,
            NewBudget {
                name: "Aiko monatlich".into(),
                scope: BudgetScope::Worker,
                scope_id: Some(s.worker),
                period: BudgetPeriod::Month,
                token_limit: Some(10_000),
                cost_limit: None,
                warn_percent: 80,
                hard: true,
            },
        )
        .await
        .unwrap();

    // Moving an item that an AI worker holds to `ready` queues its run.
    store
        .update_work_item(
            &ctx,
            s.item,
            WorkItemPatch {
                state: Some(WorkState::Ready),
                ..Default::default()
            },
            &|_, _| Ok(()),
        )
        .await
        .unwrap();
    let queued = store
        .runs(
            s.org,
            &RunFilter {
                work_item_id: Some(s.item),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(queued.items.len(), 1);
    store.cancel_run(&ctx, queued.items[0].id).await.unwrap();
    let run = store
        .queue_run(&ctx, s.item, MaxTokens::parse(256).unwrap())
        .await
        .unwrap();
    assert_eq!((run.status, run.iteration), (RunStatus::Queued, 2));
    assert!(
        run.work_order
            .contains("Damit keine Heizung im Winter ausfällt."),
        "{}",
        run.work_order
    );
    assert!(run.work_order.contains("Wartungsquote 95 %"));
    assert!(matches!(
        store
            .queue_run(&ctx, s.item, MaxTokens::parse(256).unwrap())
            .await,
        Err(StoreError::Conflict(_))
    ));

    let lease = now() + Duration::seconds(30);
    let claimed = store
        .claim_run(&node("node-a"), now(), lease)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.run.id, run.id);
    assert_eq!(claimed.route.model, "smollm2");
    assert!(
        store
            .claim_run(&node("node-a"), now(), lease)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.work_item(s.org, s.item).await.unwrap().state,
        WorkState::Running
    );

    let reservation = store
        .reserve_for_run(run.id, "node-a", now(), charge(s.worker, 300, 256))
        .await
        .unwrap();
    assert_eq!(reservation.reserved.total(), 556);
    assert_eq!(
        store
            .heartbeat(run.id, "node-b", lease, "", Tokens::default())
            .await
            .unwrap(),
        LeaseState::Lost
    );
    let used = Tokens {
        input: 300,
        cached_input: 0,
        output: 40,
    };
    let done = store
        .end_run(
            run.id,
            "node-a",
            now(),
            RunEnd::Succeeded {
                output: "Plan: …".into(),
                used,
            },
        )
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Succeeded);
    assert_eq!(done.tokens, used);
    assert_eq!(
        done.cost,
        Prices {
            input: 100_000,
            cached_input: 50_000,
            output: 400_000
        }
        .cost(used)
    );
    assert_eq!(
        store.work_item(s.org, s.item).await.unwrap().state,
        WorkState::InReview
    );
    // Ending twice is refused: the lease is gone.
    assert!(matches!(
        store
            .end_run(
                run.id,
                "node-a",
                now(),
                RunEnd::Succeeded {
                    output: String::new(),
                    used
                }
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    let budgets = store.budgets(s.org, now()).await.unwrap();
    assert_eq!(
        budgets[0].used_tokens, 340,
        "only the settled use stays on the budget"
    );

    // A revision queues the next iteration with the feedback in its work order.
    let reviewed = store
        .review_run(
            &ctx,
            run.id,
            NewReview::parse(Verdict::Revise, "Bitte nach Stadtteilen gruppieren.", 3).unwrap(),
        )
        .await
        .unwrap();
    let next = reviewed.next_run.unwrap();
    assert_eq!(next.iteration, 3);
    assert!(next.work_order.starts_with(&run.work_order));
    assert!(
        next.work_order
            .contains("Bitte nach Stadtteilen gruppieren.")
    );
    assert!(matches!(
        store
            .review_run(
                &ctx,
                run.id,
                NewReview::parse(Verdict::Accept, "", 5).unwrap()
            )
            .await,
        Err(StoreError::Conflict(_))
    ));

    // A cancelled queued run settles nothing and frees the item.
    let cancelled = store.cancel_run(&ctx, next.id).await.unwrap();
    assert_eq!(cancelled.status, RunStatus::Cancelled);
    assert_eq!(
        store.work_item(s.org, s.item).await.unwrap().state,
        WorkState::Ready
    );

    let stats = store.review_stats(s.org, s.worker).await.unwrap();
    assert_eq!(
        (stats.reviews, stats.revised, stats.mean_rating),
        (1, 1, Some(3.0))
    );

    let by_worker = store
        .ledger_summary(
            s.org,
            LedgerGroup::Worker,
            now() - Duration::days(1),
            now() + Duration::days(1),
        )
        .await
        .unwrap();
    assert_eq!(by_worker.len(), 1);
    assert_eq!(by_worker[0].key, Some(s.worker.to_string()));
    assert_eq!(by_worker[0].tokens.output, 40);
    let by_model = store
        .ledger_summary(
            s.org,
            LedgerGroup::Model,
            now() - Duration::days(1),
            now() + Duration::days(1),
        )
        .await
        .unwrap();
    assert_eq!(by_model[0].key.as_deref(), Some("local/smollm2"));
    assert_balanced(&store, s.org).await;
    assert!(store.verify_chain(s.org).await.unwrap().is_ok());
}

/// Many reservations at once against a hard budget: the budget holds, and
/// the refusals name it.
async fn hard_budget_holds<S: Store>(store: S) {
    let s = setup(&store).await;
    let ctx = Ctx::new(s.org, Some(s.owner), now());
    let budget = store
        .create_budget(
            &ctx,
            NewBudget {
                name: "Gateway-Deckel".into(),
                scope: BudgetScope::Org,
                scope_id: None,
                period: BudgetPeriod::Lifetime,
                token_limit: Some(2_000),
                cost_limit: None,
                warn_percent: 50,
                hard: true,
            },
        )
        .await
        .unwrap();
    let mut calls = Vec::new();
    for i in 0..60 {
        let store = store.clone();
        let ctx = Ctx::new(s.org, Some(s.worker), now());
        let worker = s.worker;
        calls.push(tokio::spawn(async move {
            let reservation = store.reserve(&ctx, charge(worker, 50, 50)).await?;
            tokio::task::yield_now().await;
            // Half of the calls use everything they reserved, the others less.
            let used = Tokens {
                input: 50,
                cached_input: 0,
                output: if i % 2 == 0 { 50 } else { 10 },
            };
            store.settle(&ctx, reservation.id, used).await?;
            Ok::<_, StoreError>(())
        }));
    }
    let (mut served, mut refused) = (0, 0);
    for call in calls {
        match call.await.unwrap() {
            Ok(()) => served += 1,
            Err(StoreError::BudgetRefused { budget_id, message }) => {
                assert_eq!(budget_id, budget.id);
                assert!(message.contains("Gateway-Deckel"), "{message}");
                refused += 1;
            }
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(served + refused, 60);
    assert!(
        served >= 20,
        "every reservation fits while room is left: {served}"
    );
    assert!(refused > 0);
    let totals = assert_balanced(&store, s.org).await;
    assert!(totals.settled_tokens <= 2_000, "{totals:?}");
    let state = &store.budgets(s.org, now()).await.unwrap()[0];
    assert_eq!(state.used_tokens, totals.settled_tokens);
    // Crossing the warn line was recorded once.
    let warned = store
        .events(
            s.org,
            &EventFilter {
                action: Some("budget.warned".into()),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(warned.items.len(), 1);
    // Settling twice is refused.
    let reservation = store.reserve(&ctx, charge(s.worker, 1, 1)).await;
    if let Ok(reservation) = reservation {
        store
            .settle(&ctx, reservation.id, Tokens::default())
            .await
            .unwrap();
        assert!(matches!(
            store.settle(&ctx, reservation.id, Tokens::default()).await,
            Err(StoreError::Conflict(_))
        ));
    }
}

/// A gateway call is charged to its worker's team, raises every budget that
/// applies (soft ones only warn), and a refusal by one budget leaves the
/// others as they were.
async fn gateway_calls_charge_every_budget<S: Store>(store: S) {
    let s = setup(&store).await;
    let ctx = Ctx::new(s.org, Some(s.owner), now());
    let team = store
        .create_team(
            &ctx,
            NewTeam {
                name: "Kundendienst".into(),
                parent_id: None,
                lead_id: None,
            },
        )
        .await
        .unwrap();
    let bo = store
        .create_member(
            &ctx,
            NewMember {
                kind: MemberKind::Ai,
                name: "Bo".into(),
                email: None,
                role: Role::Member,
                teams: vec![team.id],
                role_card: None,
                provider: Some("local".into()),
                model: Some("smollm2".into()),
            },
        )
        .await
        .unwrap()
        .id;
    // What the gateway reads on every call: the member behind the token
    // with its model, and that model's route (nothing of another org); and
    // a member with its teams.
    store
        .create_token(&ctx, bo, "agent", "hash-of-bos-token")
        .await
        .unwrap();
    assert_eq!(
        store.token_holder("hash-of-bos-token").await.unwrap(),
        Some(TokenHolder {
            org_id: s.org,
            member_id: bo,
            kind: MemberKind::Ai,
            provider: Some("local".into()),
            model: Some("smollm2".into()),
            external: false,
        })
    );
    assert_eq!(store.token_holder("hash-of-no-token").await.unwrap(), None);
    let member = store.member(s.org, bo).await.unwrap();
    assert_eq!(member.teams, vec![team.id]);
    assert_eq!(
        (member.provider.as_deref(), member.model.as_deref()),
        (Some("local"), Some("smollm2"))
    );
    assert!(matches!(
        store.member(Uuid::now_v7(), bo).await,
        Err(StoreError::NotFound { entity: "member" })
    ));
    let route = store.route(s.org, "local", "smollm2").await.unwrap();
    assert_eq!(
        (route.provider.as_str(), route.kind, route.model.as_str()),
        ("local", ProviderKind::Embedded, "smollm2")
    );
    assert_eq!(
        route.prices,
        Prices {
            input: 100_000,
            cached_input: 50_000,
            output: 400_000,
        }
    );
    assert!(matches!(
        store.route(Uuid::now_v7(), "local", "smollm2").await,
        Err(StoreError::Invalid(e)) if e.field == "model"
    ));
    let budget = |name: &str, scope, scope_id, token_limit, cost_limit, hard| NewBudget {
        name: name.into(),
        scope,
        scope_id: Some(scope_id),
        period: BudgetPeriod::Month,
        token_limit,
        cost_limit,
        warn_percent: 50,
        hard,
    };
    let team_budget = store
        .create_budget(
            &ctx,
            budget(
                "Team weich",
                BudgetScope::Team,
                team.id,
                Some(150),
                None,
                false,
            ),
        )
        .await
        .unwrap();
    let worker_budget = store
        .create_budget(
            &ctx,
            budget("Bo hart", BudgetScope::Worker, bo, None, Some(80), true),
        )
        .await
        .unwrap();
    let call = Ctx::new(s.org, Some(bo), now());
    // 100 tokens in at 0.10 and 100 out at 0.40 per million: 50 micro-units.
    let first = store.reserve(&call, charge(bo, 100, 100)).await.unwrap();
    assert_eq!(first.cost, 50);
    let refused = store.reserve(&call, charge(bo, 100, 100)).await;
    let Err(StoreError::BudgetRefused { budget_id, message }) = refused else {
        panic!("the worker's cost budget should refuse: {refused:?}");
    };
    assert_eq!(budget_id, worker_budget.id);
    assert!(message.contains("0.000050 of 0.000080 spent"), "{message}");
    let used = Tokens {
        input: 100,
        cached_input: 0,
        output: 20,
    };
    assert_eq!(store.settle(&call, first.id, used).await.unwrap(), used);

    let states = store.budgets(s.org, now()).await.unwrap();
    let state_of = |id: Uuid| states.iter().find(|b| b.budget.id == id).unwrap();
    // The refused call raised the team's budget before the worker's refused
    // it; that was rolled back with the rest of it.
    assert_eq!(state_of(team_budget.id).used_tokens, 120);
    assert_eq!(state_of(worker_budget.id).used_cost, 10 + 8);
    let warned = store
        .events(
            s.org,
            &EventFilter {
                action: Some("budget.warned".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Both warn lines (half of each limit) were crossed by the first call.
    let mut warned: Vec<_> = warned.items.iter().map(|e| e.subject_id).collect();
    warned.sort();
    let mut expected = vec![Some(team_budget.id), Some(worker_budget.id)];
    expected.sort();
    assert_eq!(warned, expected);
    let by_team = store
        .ledger_summary(s.org, LedgerGroup::Team, now(), now() + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(by_team.len(), 1);
    assert_eq!(by_team[0].key, Some(team.id.to_string()));
    assert_eq!(
        (by_team[0].calls, by_team[0].tokens, by_team[0].cost),
        (1, used, 18)
    );
    assert_balanced(&store, s.org).await;
    assert!(store.verify_chain(s.org).await.unwrap().is_ok());
}

/// A run whose lease expires is queued again, charged once for what was seen,
/// and fails with its reason once out of attempts.
async fn expired_leases_are_recovered<S: Store>(store: S) {
    let s = setup(&store).await;
    let ctx = Ctx::new(s.org, Some(s.owner), now());
    let run = store
        .queue_run(&ctx, s.item, MaxTokens::parse(100).unwrap())
        .await
        .unwrap();
    for attempt in 1..=3 {
        let at = now() + Duration::minutes(attempt);
        let claimed = store
            .claim_run(&node("crashy"), at, at + Duration::seconds(30))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((claimed.run.id, claimed.run.attempts), (run.id, attempt));
        store
            .reserve_for_run(run.id, "crashy", at, charge(s.worker, 20, 100))
            .await
            .unwrap();
        store
            .heartbeat(
                run.id,
                "crashy",
                at + Duration::seconds(30),
                "Teil",
                Tokens {
                    input: 20,
                    cached_input: 0,
                    output: 7,
                },
            )
            .await
            .unwrap();
        // Not yet expired: nothing to recover.
        assert_eq!(store.recover(at).await.unwrap(), (0, 0));
        assert_eq!(
            store.recover(at + Duration::seconds(31)).await.unwrap(),
            (1, 0)
        );
    }
    let failed = store.run(s.org, run.id).await.unwrap();
    assert_eq!(failed.status, RunStatus::Failed);
    assert!(failed.error.unwrap().contains("3 attempts"));
    assert_eq!(
        failed.tokens,
        Tokens {
            input: 60,
            cached_input: 0,
            output: 21
        }
    );
    assert_eq!(
        store.work_item(s.org, s.item).await.unwrap().state,
        WorkState::Blocked
    );
    // A stopping process hands its leases back: its heartbeats find them
    // lost, and the next recovery queues the run at once.
    let item = store
        .create_work_item(&ctx, task_for(s.worker, "Zweite Aufgabe"))
        .await
        .unwrap();
    let at = now() + Duration::minutes(10);
    let claimed = store
        .claim_run(&node("polite"), at, at + Duration::seconds(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.run.work_item_id, item.id);
    assert_eq!(store.hand_back_leases("polite", at).await.unwrap(), 1);
    assert_eq!(
        store
            .heartbeat(
                claimed.run.id,
                "polite",
                at + Duration::seconds(30),
                "",
                Tokens::default()
            )
            .await
            .unwrap(),
        LeaseState::Lost
    );
    assert_eq!(store.recover(at).await.unwrap(), (1, 0));
    assert_eq!(
        store.run(s.org, claimed.run.id).await.unwrap().status,
        RunStatus::Queued
    );
    store.cancel_run(&ctx, claimed.run.id).await.unwrap();

    // An abandoned gateway reservation is settled at its prompt.
    store
        .reserve(
            &Ctx::new(s.org, Some(s.worker), now()),
            charge(s.worker, 5, 5),
        )
        .await
        .unwrap();
    assert_eq!(
        store.recover(now() + Duration::hours(1)).await.unwrap(),
        (0, 1)
    );
    let totals = assert_balanced(&store, s.org).await;
    assert_eq!(totals.settled_tokens, 81 + 5);
}

/// With several engine processes where only some have the embedded model,
/// the others leave its work to them, but still take work on other
/// providers, and take it all when no process with the model is alive.
async fn embedded_work_waits_for_a_node_with_the_model<S: Store>(store: S) {
    let s = setup(&store).await;
    let ctx = Ctx::new(s.org, Some(s.owner), now());
    let embedded_run = store
        .queue_run(&ctx, s.item, MaxTokens::parse(100).unwrap())
        .await
        .unwrap();
    let remote_worker = ai_worker(
        &store,
        &ctx,
        "Remo",
        NewProvider {
            name: "cloud".into(),
            kind: ProviderKind::Openai,
            base_url: Some("http://127.0.0.1:9/v1".into()),
            api_key_env: None,
            api_key: None,
            limits: tutti_domain::labour::CallLimits::default(),
        },
        NewModel {
            name: "large".into(),
            prices: Prices::default(),
        },
    )
    .await;
    let remote_item = store
        .create_work_item(&ctx, task_for(remote_worker, "Angebot gegenlesen"))
        .await
        .unwrap();
    // A ready item of an AI worker is queued at once.

    let modelless = EngineNode {
        name: "ohne-modell".into(),
        embedded_model: false,
    };
    let lease = |at: DateTime<Utc>| at + Duration::seconds(30);
    store
        .announce_node(&node("mit-modell"), now(), now() + Duration::seconds(6))
        .await
        .unwrap();
    store
        .announce_node(&modelless, now(), now() + Duration::seconds(6))
        .await
        .unwrap();
    let taken = store
        .claim_run(&modelless, now(), lease(now()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        taken.run.work_item_id, remote_item.id,
        "work on another provider is taken"
    );
    assert!(
        store
            .claim_run(&modelless, now(), lease(now()))
            .await
            .unwrap()
            .is_none(),
        "the embedded run is left to the node with the model"
    );
    assert_eq!(
        store.run(s.org, embedded_run.id).await.unwrap().status,
        RunStatus::Queued
    );

    // The node with the model stopped announcing itself: nobody else can run
    // the work, so the node without it takes it (and fails it, saying why).
    let later = now() + Duration::seconds(7);
    let taken = store
        .claim_run(&modelless, later, lease(later))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.run.id, embedded_run.id);
    assert_eq!(taken.route.kind, ProviderKind::Embedded);
}

tutti_store::on_both_backends!(run_life, run_life_on_sqlite, run_life_on_postgres);
tutti_store::on_both_backends!(
    embedded_work_waits_for_a_node_with_the_model,
    embedded_work_waits_for_a_node_with_the_model_on_sqlite,
    embedded_work_waits_for_a_node_with_the_model_on_postgres
);
tutti_store::on_both_backends!(
    hard_budget_holds,
    hard_budget_holds_on_sqlite,
    hard_budget_holds_on_postgres
);
tutti_store::on_both_backends!(
    expired_leases_are_recovered,
    expired_leases_are_recovered_on_sqlite,
    expired_leases_are_recovered_on_postgres
);
tutti_store::on_both_backends!(
    gateway_calls_charge_every_budget,
    gateway_calls_charge_every_budget_on_sqlite,
    gateway_calls_charge_every_budget_on_postgres
);

/// A gateway call by Bo (in the service team) is held by the org's budget,
/// his own and his team's, and by nobody else's: another worker's, another
/// team's and an objective's budgets, each too small for the call, neither
/// refuse it nor count it.
async fn a_call_is_charged_only_to_the_budgets_that_hold_it<S: Store>(store: S) {
    let s = setup(&store).await;
    let ctx = Ctx::new(s.org, Some(s.owner), now());
    let team = |name: &str| NewTeam {
        name: name.into(),
        parent_id: None,
        lead_id: None,
    };
    let service = store.create_team(&ctx, team("Kundendienst")).await.unwrap();
    let sales = store.create_team(&ctx, team("Vertrieb")).await.unwrap();
    let bo = store
        .create_member(
            &ctx,
            NewMember {
                kind: MemberKind::Ai,
                name: "Bo".into(),
                email: None,
                role: Role::Member,
                teams: vec![service.id],
                role_card: None,
                provider: Some("local".into()),
                model: Some("smollm2".into()),
            },
        )
        .await
        .unwrap()
        .id;
    let objective = store.all_objectives(s.org).await.unwrap().objectives[0].id;
    let budget = |name: &str, scope, scope_id, token_limit| NewBudget {
        name: name.into(),
        scope,
        scope_id,
        period: BudgetPeriod::Month,
        token_limit: Some(token_limit),
        cost_limit: None,
        warn_percent: 80,
        hard: true,
    };
    for (name, scope, scope_id, limit) in [
        ("Org", BudgetScope::Org, None, 1_000_000),
        ("Bo", BudgetScope::Worker, Some(bo), 1_000_000),
        (
            "Kundendienst",
            BudgetScope::Team,
            Some(service.id),
            1_000_000,
        ),
        ("Aiko", BudgetScope::Worker, Some(s.worker), 1),
        ("Vertrieb", BudgetScope::Team, Some(sales.id), 1),
        ("Wartung", BudgetScope::Objective, Some(objective), 1),
    ] {
        store
            .create_budget(&ctx, budget(name, scope, scope_id, limit))
            .await
            .unwrap();
    }
    let charge = Charge {
        worker_id: bo,
        run_id: None,
        work_item_id: None,
        route_provider: "local".into(),
        route_model: "smollm2".into(),
        prices: Prices {
            input: 100_000,
            cached_input: 50_000,
            output: 400_000,
        },
        input_tokens: 30,
        max_output_tokens: 20,
        expires_at: now() + Duration::minutes(15),
        holder: None,
    };
    let call = Ctx::new(s.org, Some(bo), now());
    let reservation = store.reserve(&call, charge).await.unwrap();
    let used: Vec<(String, i64)> = store
        .budgets(s.org, now())
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.budget.name, b.used_tokens))
        .collect();
    assert_eq!(
        used,
        [
            ("Org".to_owned(), 50),
            ("Bo".to_owned(), 50),
            ("Kundendienst".to_owned(), 50),
            ("Aiko".to_owned(), 0),
            ("Vertrieb".to_owned(), 0),
            ("Wartung".to_owned(), 0),
        ]
    );
    store
        .settle(&call, reservation.id, Tokens::default())
        .await
        .unwrap();
    assert_balanced(&store, s.org).await;
}

tutti_store::behaviour!(a_call_is_charged_only_to_the_budgets_that_hold_it);
