//! The command line: `up` (the default), `seed`, `export-schemas` and
//! `events dlq|replay`.

use talentgraph_demo_world::DemoWorld;
use talentgraph_launch::RouterKind;

/// What to do, once parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Bring the whole stack up and serve until Ctrl-C (the default).
    Up {
        world: DemoWorld,
        router: RouterKind,
    },
    /// Only create, migrate and seed the databases.
    Seed { world: DemoWorld },
    /// Write every subgraph's `schema.graphql` from the code.
    ExportSchemas,
    /// List the dead letters of a running stack's broker.
    DeadLetters,
    /// Publish a dead letter again on its original subject.
    Replay { sequence: u64 },
}

/// Runs Talentgraph locally: PostgreSQL, one database per subgraph, demo
/// data, the six subgraphs, the router and the schema registry.
#[derive(Debug, clap::Parser)]
#[command(
    name = "devstack",
    after_help = "Environment: DATABASE_URL (a server to use instead of the stack's own cluster \
                  under target/devstack/), DEVSTACK_POSTGRES_PORT (default 54329), NATS_URL (a NATS \
                  server to use instead of the stack's own), DEVSTACK_NATS_PORT (default 54222), REDIS_URL (a \
                  Redis to use instead of the stack's own), DEVSTACK_REDIS_PORT (default 56379), RUST_LOG."
)]
struct DevstackCommandLine {
    #[command(subcommand)]
    command: Option<DevstackCommand>,
    /// Use the small demo world the tests use instead of the standard one.
    #[arg(long, global = true)]
    small: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
enum DevstackCommand {
    /// PostgreSQL, databases, migrations, demo data, the six subgraphs, the
    /// router (hot-reloading) and the schema registry (the default).
    Up {
        /// The router in front of the subgraphs.
        #[arg(long, value_enum, default_value_t = RouterKind::Apollo)]
        router: RouterKind,
    },
    /// Only create, migrate and seed the databases.
    Seed,
    /// Regenerate subgraphs/*/schema.graphql from the code.
    ExportSchemas,
    /// The event bus of a running stack: dead letters and their replay.
    Events {
        #[command(subcommand)]
        action: EventsAction,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
enum EventsAction {
    /// List the messages consumers gave up on, with their errors.
    Dlq,
    /// Publish dead letter SEQUENCE (from `dlq`) again on its original
    /// subject, after the consumer was fixed.
    Replay { sequence: u64 },
}

/// Parses the command line (without the program name). `--help` and usage
/// mistakes come back as clap's error, which knows how to print itself and
/// which exit code it means.
pub fn parse_command(arguments: &[String]) -> Result<Command, clap::Error> {
    use clap::Parser;
    let parsed = DevstackCommandLine::try_parse_from(
        std::iter::once("devstack").chain(arguments.iter().map(String::as_str)),
    )?;
    let world = if parsed.small {
        DemoWorld::SMALL
    } else {
        DemoWorld::STANDARD
    };
    Ok(
        match parsed.command.unwrap_or(DevstackCommand::Up {
            router: RouterKind::Apollo,
        }) {
            DevstackCommand::Up { router } => Command::Up { world, router },
            DevstackCommand::Seed => Command::Seed { world },
            DevstackCommand::ExportSchemas => Command::ExportSchemas,
            DevstackCommand::Events {
                action: EventsAction::Dlq,
            } => Command::DeadLetters,
            DevstackCommand::Events {
                action: EventsAction::Replay { sequence },
            } => Command::Replay { sequence },
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DevstackError, refuse_production};

    /// The command line parses into commands, and mistakes are usage errors.
    #[test]
    fn parses_the_command_line() {
        let parse = |words: &[&str]| {
            parse_command(
                &words
                    .iter()
                    .map(|word| (*word).to_owned())
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            parse(&[]).expect("valid"),
            Command::Up {
                world: DemoWorld::STANDARD,
                router: RouterKind::Apollo,
            }
        );
        assert_eq!(
            parse(&["up", "--router", "hive", "--small"]).expect("valid"),
            Command::Up {
                world: DemoWorld::SMALL,
                router: RouterKind::Hive,
            }
        );
        assert!(parse(&["up", "--router", "nginx"]).is_err());
        assert_eq!(
            parse(&["seed", "--small"]).expect("valid"),
            Command::Seed {
                world: DemoWorld::SMALL
            }
        );
        assert_eq!(
            parse(&["export-schemas"]).expect("valid"),
            Command::ExportSchemas
        );
        assert!(parse(&["launch"]).is_err());
        assert_eq!(
            parse(&["events", "dlq"]).expect("valid"),
            Command::DeadLetters
        );
        assert_eq!(
            parse(&["events", "replay", "7"]).expect("valid"),
            Command::Replay { sequence: 7 }
        );
        assert!(parse(&["events", "replay", "seven"]).is_err());
        assert!(matches!(
            refuse_production(|_| Some("production".to_owned())),
            Err(DevstackError::ProductionEnvironment)
        ));
        assert!(refuse_production(|_| Some("development".to_owned())).is_ok());
        assert!(refuse_production(|_| None).is_ok());
        assert!(parse(&["up", "--fast"]).is_err());
        assert!(parse(&["up", "seed"]).is_err());
        assert_eq!(
            parse(&["--help"])
                .expect_err("help is not a command")
                .exit_code(),
            0
        );
    }
}
