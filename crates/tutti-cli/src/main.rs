//! The `tutti` binary: server, administration and client in one.
//!
//! `main` only parses the command line and starts the runtime; each command's
//! work lives in the module named after it.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

mod bench;
mod bench_gateway;
mod bench_policy;
mod bench_quality;
mod bench_service;
mod bench_ui;
mod cli;
mod client;
mod demo;
mod demo_decisions;
mod demo_flows;
mod demo_people;
mod demo_pulse;
mod demo_routines;
mod demo_service;
mod demo_workforce;
mod local;
mod mcp;

use cli::{AuditCommand, Cli, Command, MemberCommand, TokenCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, Command::Up { .. } | Command::Serve { .. });
    let filter = EnvFilter::try_from_env("TUTTI_LOG").unwrap_or_else(|_| {
        EnvFilter::new(if serving {
            "info,llama-cpp-2=warn"
        } else {
            "warn"
        })
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Up {
            db,
            bind,
            engine,
            provider_url,
            provider_model,
            provider_key_env,
        } => {
            let provider =
                provider_url
                    .zip(provider_model)
                    .map(|(url, model)| local::DemoProvider {
                        url,
                        model,
                        key_env: provider_key_env,
                    });
            local::with_store(
                &db.database_url,
                local::Serve {
                    bind,
                    demo: true,
                    engine,
                    provider,
                },
            )
            .await
        }
        Command::Serve { db, bind, engine } => {
            local::with_store(
                &db.database_url,
                local::Serve {
                    bind,
                    demo: false,
                    engine,
                    provider: None,
                },
            )
            .await
        }
        Command::Migrate { db } => local::with_store(&db.database_url, local::Migrate).await,
        Command::Init {
            db,
            org,
            owner,
            name,
            currency,
        } => {
            local::with_store(
                &db.database_url,
                local::Init {
                    org,
                    owner,
                    name,
                    currency,
                },
            )
            .await
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    db,
                    member,
                    org,
                    label,
                },
        } => {
            local::with_store(
                &db.database_url,
                local::CreateToken {
                    email: member,
                    org,
                    label,
                },
            )
            .await
        }
        Command::Audit {
            command: AuditCommand::Verify { db },
        } => local::with_store(&db.database_url, local::VerifyAudit).await,
        Command::Audit {
            command:
                AuditCommand::Log {
                    remote,
                    limit,
                    action,
                },
        } => client::audit_log(&remote, limit, action).await,
        Command::Team { remote, command } => client::team(&remote, command).await,
        Command::Service { remote, command } => client::service::service(&remote, command).await,
        Command::Promise { remote, command } => client::service::promise(&remote, command).await,
        Command::Flow { remote, command } => client::flows::flow(&remote, command).await,
        Command::Gate { remote, command } => client::flows::gate(&remote, command).await,
        Command::Pulse { remote, command } => client::pulse::pulse(&remote, command).await,
        Command::Workload { remote, args } => client::pulse::workload(&remote, args).await,
        Command::Template { remote, command } => {
            client::workforce::template(&remote, command).await
        }
        Command::Capacity { remote, args } => client::workforce::capacity(&remote, args).await,
        Command::Leverage { remote, args } => client::workforce::leverage(&remote, args).await,
        Command::Evidence { remote, command } => {
            client::workforce::evidence(&remote, command).await
        }
        Command::Routine { remote, command } => client::routines::routine(&remote, command).await,
        Command::Import {
            command: cli::ImportCommand::Org { file, db },
            ..
        } => local::with_store(&db.database_url, local::ImportOrg { file }).await,
        Command::Import { remote, command } => client::import::import(&remote, command).await,
        Command::Export { remote, command } => client::import::export(&remote, command).await,
        Command::Case { remote, command } => client::flows::case(&remote, command).await,
        Command::Learning { remote, command } => client::flows::learning(&remote, command).await,
        Command::Member {
            command: MemberCommand::SetPassword { db, email, org },
            ..
        } => local::with_store(&db.database_url, local::SetPassword { email, org }).await,
        Command::Member { remote, command } => client::member(&remote, command).await,
        Command::Mcp { remote } => mcp::serve(&remote).await,
        Command::Alert { remote, command } => client::alert(&remote, command).await,
        Command::Webhook { remote, command } => client::webhook(&remote, command).await,
        Command::Objective { remote, command } => client::objective(&remote, command).await,
        Command::KeyResult { remote, command } => client::key_result(&remote, command).await,
        Command::CheckIn { remote, command } => client::check_in(&remote, command).await,
        Command::Work { remote, command } => client::work(&remote, command).await,
        Command::Provider { remote, command } => client::labour::provider(&remote, command).await,
        Command::Budget { remote, command } => client::labour::budget(&remote, command).await,
        Command::Run { remote, command } => client::labour::run(&remote, command).await,
        Command::Review { remote, command } => client::labour::review(&remote, command).await,
        Command::Ledger { remote, command } => client::labour::ledger(&remote, command).await,
        Command::Space { remote, command } => client::decisions::space(&remote, command).await,
        Command::Decision { remote, command } => {
            client::decisions::decision(&remote, command).await
        }
        Command::Whoami { remote } => client::whoami(&remote).await,
        Command::Org { remote, command } => client::org(&remote, command).await,
        Command::Bench {
            command: cli::BenchCommand::Api(args),
        } => bench::api(args).await,
        Command::Bench {
            command: cli::BenchCommand::Model(args),
        } => bench::model(args).await,
        Command::Bench {
            command: cli::BenchCommand::Gateway(args),
        } => bench_gateway::gateway(args).await,
        Command::Bench {
            command: cli::BenchCommand::Policy(args),
        } => bench_policy::policy(args).await,
        Command::Bench {
            command: cli::BenchCommand::Ui(args),
        } => bench_ui::ui(args).await,
    }
}
