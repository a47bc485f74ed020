//! The `schema-check` command line.
//!
//! Exit codes: 0 success, 1 a failed check (composition errors, a stale
//! supergraph, a plan over budget), 2 usage or input error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::operations::load_operations;
use crate::plan::{PlanSummary, check_budgets, load_budgets, plan_operations, side_by_side};
use crate::report::Format;
use crate::{RegistryError, SupergraphConfig, compose_from_config};

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Compose {
        config: PathBuf,
        document: ComposedDocument,
        output: Option<PathBuf>,
        check: Option<PathBuf>,
    },
    Plan(PlanArguments),
    Check(CheckArguments),
    Publish(crate::remote::PublishArguments),
    Fetch(crate::remote::FetchArguments),
    History {
        registry: String,
        subgraph: String,
        format: Format,
    },
    Diff {
        registry: String,
        subgraph: String,
        from: Option<String>,
        to: Option<String>,
        format: Format,
    },
    RegisterOperations {
        registry: String,
        client: String,
        client_version: String,
        operations: PathBuf,
    },
    TrustedDocuments {
        operations: Vec<PathBuf>,
        output: Option<PathBuf>,
        check: Option<PathBuf>,
    },
}

/// Which document `schema-check compose` writes or checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComposedDocument {
    /// The supergraph the router serves (with its `join__` routing).
    Supergraph,
    /// The client-facing API schema: what clients may query, without the
    /// routing and without `@inaccessible` elements. Client code generators
    /// (the web app's GraphQL Code Generator) read this one.
    ApiSchema,
}

/// The options of `schema-check check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckArguments {
    pub subgraph: String,
    pub schema: PathBuf,
    pub config: PathBuf,
    pub baseline: Option<String>,
    pub operations: Option<PathBuf>,
    pub format: Format,
}

/// The options of `schema-check plan`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanArguments {
    pub supergraph: PathBuf,
    pub operations: PathBuf,
    pub budgets: Option<PathBuf>,
    pub plans: Option<PathBuf>,
    pub update_plans: bool,
    pub format: Format,
}

const EXIT_CODES: &str = "Exit codes: 0 success; 1 a failed check (composition errors, a breaking \
change, an operation that no longer validates, a plan over budget, a stale file, a refused \
publication); 2 a usage or input error (bad arguments, unreadable files, an unreachable registry, \
a refused token).

Registry commands read the URL from --registry, else SCHEMA_REGISTRY_URL, else \
http://127.0.0.1:4100, and the token from SCHEMA_REGISTRY_TOKEN.";

/// Schema governance for the supergraph: composition, breaking-change
/// checks against the operations clients send, query-plan budgets, and the
/// schema registry.
#[derive(Debug, clap::Parser)]
#[command(name = "schema-check", after_help = EXIT_CODES)]
struct SchemaCheckCommandLine {
    #[command(subcommand)]
    verb: Verb,
}

/// Where the registry is.
#[derive(Debug, clap::Args)]
struct RegistryLocation {
    /// The registry's URL (default: SCHEMA_REGISTRY_URL, else http://127.0.0.1:4100).
    #[arg(long, value_name = "URL")]
    registry: Option<String>,
}

impl RegistryLocation {
    fn url(self) -> String {
        self.registry
            .unwrap_or_else(crate::remote::default_registry_url)
    }
}

#[derive(Debug, clap::Subcommand)]
enum Verb {
    /// Compose one subgraph's proposed schema with the others and compare the
    /// client-facing API schema with the baseline: composition errors, every
    /// change as BREAKING, DANGEROUS or SAFE with the operations it affects,
    /// and operations that no longer validate. Exits 1 when any of those fail.
    Check {
        #[arg(long)]
        subgraph: String,
        /// The proposed SDL of the subgraph.
        #[arg(long, value_name = "FILE")]
        schema: PathBuf,
        #[arg(long, value_name = "FILE", default_value = "router/supergraph.yaml")]
        config: PathBuf,
        /// FILE, git:REV or registry:URL (default: the committed supergraph
        /// next to --config).
        #[arg(long)]
        baseline: Option<String>,
        /// A directory, a .graphql file or a manifest of client operations.
        #[arg(long, value_name = "PATH")]
        operations: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Compose the subgraphs of the configuration into a supergraph, written
    /// to --output (or standard output); with --check, compare it with FILE
    /// instead and exit 1 when FILE is stale.
    Compose {
        #[arg(long, value_name = "FILE", default_value = "router/supergraph.yaml")]
        config: PathBuf,
        /// Write (or check) the client-facing API schema instead of the
        /// supergraph.
        #[arg(long)]
        api_schema: bool,
        #[arg(long, value_name = "FILE", conflicts_with = "check")]
        output: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        check: Option<PathBuf>,
    },
    /// Plan every operation with the router's query planner and report the
    /// subgraphs, fetches and longest chain of dependent fetches. With
    /// --budgets, exit 1 when an operation exceeds its budget and show its
    /// accepted plan (from --plans) next to the new one.
    Plan {
        #[arg(long, value_name = "FILE", default_value = "router/supergraph.graphql")]
        supergraph: PathBuf,
        #[arg(long, value_name = "PATH", default_value = "pages")]
        operations: PathBuf,
        #[arg(long, value_name = "FILE")]
        budgets: Option<PathBuf>,
        #[arg(long, value_name = "DIR")]
        plans: Option<PathBuf>,
        /// Rewrite the accepted plans in --plans.
        #[arg(long, requires = "plans")]
        update_plans: bool,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Publish a subgraph version: the registry runs the same check against
    /// its latest supergraph and registered client operations; a failing
    /// check is refused (exit 1) unless --approve gives the reason.
    Publish {
        #[arg(long)]
        subgraph: String,
        #[arg(long, value_name = "FILE")]
        schema: PathBuf,
        /// Default: the subgraph's routing URL in --config.
        #[arg(long, value_name = "URL")]
        routing_url: Option<String>,
        #[arg(long, value_name = "FILE", default_value = "router/supergraph.yaml")]
        config: PathBuf,
        /// Why breaking these clients is acceptable; recorded with the token's name.
        #[arg(long = "approve", value_name = "REASON", value_parser = non_blank_reason)]
        approval_reason: Option<String>,
        /// Only check.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        #[command(flatten)]
        registry: RegistryLocation,
    },
    /// The latest composed supergraph, or a subgraph version's SDL.
    Fetch {
        #[arg(long)]
        subgraph: Option<String>,
        #[arg(long, value_name = "N", requires = "subgraph")]
        version: Option<String>,
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[arg(long, value_name = "ETAG")]
        if_none_match: Option<String>,
        #[command(flatten)]
        registry: RegistryLocation,
    },
    /// A subgraph's published versions, their changes and approvals.
    History {
        #[arg(long)]
        subgraph: String,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        #[command(flatten)]
        registry: RegistryLocation,
    },
    /// The classified changes between two published versions of a subgraph.
    Diff {
        #[arg(long)]
        subgraph: String,
        #[arg(long, value_name = "N")]
        from: Option<String>,
        #[arg(long, value_name = "N")]
        to: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        #[command(flatten)]
        registry: RegistryLocation,
    },
    /// Write the router's trusted-documents Rhai module for the operations
    /// in each PATH (the registry writes the same module from what clients
    /// registered); with --check, exit 1 when FILE is not that module.
    TrustedDocuments {
        /// Repeatable; default: pages and operations.
        #[arg(long, value_name = "PATH", default_values = ["pages", "operations"])]
        operations: Vec<PathBuf>,
        #[arg(long, value_name = "FILE", conflicts_with = "check")]
        output: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        check: Option<PathBuf>,
    },
    /// Register a client version's operations: they make checks usage-aware
    /// and form the safelist (GET /api/safelist).
    RegisterOperations {
        #[arg(long)]
        client: String,
        #[arg(long, value_name = "VERSION")]
        client_version: String,
        #[arg(long, value_name = "PATH")]
        operations: PathBuf,
        #[command(flatten)]
        registry: RegistryLocation,
    },
}

fn non_blank_reason(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("needs a reason: why breaking these clients is acceptable".to_owned())
    } else {
        Ok(text.to_owned())
    }
}

/// Parses arguments (without the program name). `--help` and usage
/// mistakes come back as clap's error, which prints itself and knows its
/// exit code (0 for help, 2 for a mistake).
pub fn parse(arguments: &[String]) -> Result<Command, clap::Error> {
    use clap::Parser;
    let parsed = SchemaCheckCommandLine::try_parse_from(
        std::iter::once("schema-check").chain(arguments.iter().map(String::as_str)),
    )?;
    Ok(match parsed.verb {
        Verb::Check {
            subgraph,
            schema,
            config,
            baseline,
            operations,
            format,
        } => Command::Check(CheckArguments {
            subgraph,
            schema,
            config,
            baseline,
            operations,
            format,
        }),
        Verb::Compose {
            config,
            api_schema,
            output,
            check,
        } => Command::Compose {
            config,
            document: if api_schema {
                ComposedDocument::ApiSchema
            } else {
                ComposedDocument::Supergraph
            },
            output,
            check,
        },
        Verb::Plan {
            supergraph,
            operations,
            budgets,
            plans,
            update_plans,
            format,
        } => Command::Plan(PlanArguments {
            supergraph,
            operations,
            budgets,
            plans,
            update_plans,
            format,
        }),
        Verb::Publish {
            subgraph,
            schema,
            routing_url,
            config,
            approval_reason,
            dry_run,
            format,
            registry,
        } => Command::Publish(crate::remote::PublishArguments {
            registry: registry.url(),
            subgraph,
            schema,
            routing_url,
            config,
            approval_reason,
            dry_run,
            format,
        }),
        Verb::Fetch {
            subgraph,
            version,
            output,
            if_none_match,
            registry,
        } => Command::Fetch(crate::remote::FetchArguments {
            registry: registry.url(),
            subgraph,
            version,
            output,
            if_none_match,
        }),
        Verb::History {
            subgraph,
            format,
            registry,
        } => Command::History {
            registry: registry.url(),
            subgraph,
            format,
        },
        Verb::Diff {
            subgraph,
            from,
            to,
            format,
            registry,
        } => Command::Diff {
            registry: registry.url(),
            subgraph,
            from,
            to,
            format,
        },
        Verb::RegisterOperations {
            client,
            client_version,
            operations,
            registry,
        } => Command::RegisterOperations {
            registry: registry.url(),
            client,
            client_version,
            operations,
        },
        Verb::TrustedDocuments {
            operations,
            output,
            check,
        } => Command::TrustedDocuments {
            operations,
            output,
            check,
        },
    })
}

/// Runs the command line and returns the process exit code.
#[allow(clippy::print_stdout)]
pub fn run(arguments: Vec<String>) -> ExitCode {
    let command = match parse(&arguments) {
        Ok(command) => command,
        Err(error) => return talentgraph_kit::server::command_line_exit(&error),
    };
    match command {
        Command::Check(arguments) => exit_code(check(&arguments)),
        Command::Publish(arguments) => exit_code(crate::remote::publish(&arguments)),
        Command::Fetch(arguments) => exit_code(crate::remote::fetch(&arguments)),
        Command::History {
            registry,
            subgraph,
            format,
        } => exit_code(crate::remote::history(&registry, &subgraph, format)),
        Command::Diff {
            registry,
            subgraph,
            from,
            to,
            format,
        } => exit_code(crate::remote::diff(
            &registry,
            &subgraph,
            from.as_deref(),
            to.as_deref(),
            format,
        )),
        Command::RegisterOperations {
            registry,
            client,
            client_version,
            operations,
        } => exit_code(crate::remote::register_operations(
            &registry,
            &client,
            &client_version,
            &operations,
        )),
        Command::Plan(arguments) => exit_code(plan(&arguments)),
        Command::TrustedDocuments {
            operations,
            output,
            check,
        } => exit_code(trusted_documents(
            &operations,
            output.as_deref(),
            check.as_deref(),
        )),
        Command::Compose {
            config,
            document,
            output: _,
            check: Some(committed),
        } => match compose_check(&config, document, &committed) {
            Ok(true) => {
                eprintln!("{} is up to date", committed.display());
                ExitCode::SUCCESS
            }
            Ok(false) => {
                let flag = match document {
                    ComposedDocument::Supergraph => "",
                    ComposedDocument::ApiSchema => " --api-schema",
                };
                eprintln!(
                    "{} is stale: it is not what {} composes to. Regenerate it with\n  schema-check compose --config {}{flag} --output {}",
                    committed.display(),
                    config.display(),
                    config.display(),
                    committed.display()
                );
                ExitCode::from(1)
            }
            Err(error) => composition_failure(error),
        },
        Command::Compose {
            config,
            document,
            output,
            check: None,
        } => match compose(&config, document, output.as_ref()) {
            Ok(composed_to) => {
                if let Some(path) = composed_to {
                    eprintln!("composed {} into {}", config.display(), path.display());
                }
                ExitCode::SUCCESS
            }
            Err(error) => composition_failure(error),
        },
    }
}

/// 0 when the command passed, 1 when its check failed, 2 when it could not
/// run (bad input, unreachable registry, refused token).
fn exit_code(result: Result<bool, RegistryError>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("schema-check: {error}");
            ExitCode::from(2)
        }
    }
}

fn composition_failure(error: RegistryError) -> ExitCode {
    match error {
        RegistryError::Composition(diagnostics) => {
            for diagnostic in &diagnostics {
                eprintln!("{diagnostic}\n");
            }
            eprintln!("composition failed with {} error(s)", diagnostics.len());
            ExitCode::from(1)
        }
        error => {
            eprintln!("schema-check: {error}");
            ExitCode::from(2)
        }
    }
}

/// `schema-check trusted-documents`: writes the module (to `output` or
/// standard output) or, with `check`, compares it with a committed file.
#[allow(clippy::print_stdout)]
fn trusted_documents(
    operations: &[PathBuf],
    output: Option<&Path>,
    check: Option<&Path>,
) -> Result<bool, RegistryError> {
    let mut documents = Vec::new();
    for path in operations {
        documents.extend(crate::operations::load_operations(path)?);
    }
    let regenerate = operations
        .iter()
        .map(|path| format!("--operations {}", path.display()))
        .collect::<Vec<_>>()
        .join(" ");
    let module = crate::trusted_documents::rhai_module(
        &crate::trusted_documents::from_operation_documents(&documents)?,
    );
    if let Some(committed) = check {
        let current = std::fs::read_to_string(committed).map_err(|source| RegistryError::Read {
            path: committed.to_path_buf(),
            source,
        })?;
        if current == module {
            eprintln!("{} is up to date", committed.display());
            return Ok(true);
        }
        eprintln!(
            "{} is stale: it does not list exactly these documents. Regenerate it with\n  schema-check trusted-documents {regenerate} --output {}",
            committed.display(),
            committed.display()
        );
        return Ok(false);
    }
    match output {
        Some(path) => {
            crate::trusted_documents::replace_file(path, &module)?;
            eprintln!(
                "wrote {} trusted document(s) to {}",
                documents.len(),
                path.display()
            );
        }
        None => print!("{module}"),
    }
    Ok(true)
}

/// Whether `committed` is exactly what the configuration composes to.
fn compose_check(
    config: &Path,
    document: ComposedDocument,
    committed: &Path,
) -> Result<bool, RegistryError> {
    let composed = composed_document(config, document)?;
    let existing = std::fs::read_to_string(committed).map_err(|source| RegistryError::Read {
        path: committed.to_path_buf(),
        source,
    })?;
    Ok(existing == composed)
}

/// Composes the configuration's subgraphs and returns the chosen document.
fn composed_document(config: &Path, document: ComposedDocument) -> Result<String, RegistryError> {
    let config = SupergraphConfig::load(config)?;
    let supergraph = compose_from_config(&config)?;
    Ok(match document {
        ComposedDocument::Supergraph => supergraph.sdl,
        ComposedDocument::ApiSchema => supergraph.api_sdl,
    })
}

fn plan_file(directory: &Path, operation: &str) -> PathBuf {
    directory.join(format!("{operation}.plan"))
}

/// Plans the operations, reports, and checks budgets; `Ok(false)` when an
/// operation is over budget.
#[allow(clippy::print_stdout)]
fn plan(arguments: &PlanArguments) -> Result<bool, RegistryError> {
    let supergraph =
        std::fs::read_to_string(&arguments.supergraph).map_err(|source| RegistryError::Read {
            path: arguments.supergraph.clone(),
            source,
        })?;
    let operations = load_operations(&arguments.operations)?;
    let summaries = plan_operations(&supergraph, &operations)?;
    let violations = match &arguments.budgets {
        Some(path) => check_budgets(&summaries, &load_budgets(path)?),
        None => Vec::new(),
    };
    match arguments.format {
        Format::Json => {
            let report = serde_json::json!({
                "operations": summaries,
                "violations": violations
                    .iter()
                    .map(|violation| serde_json::json!({
                        "operation": violation.operation,
                        "message": violation.message,
                    }))
                    .collect::<Vec<_>>(),
            });
            println!("{report:#}");
        }
        Format::Human => {
            println!(
                "{:<28} {:>7} {:>6}  subgraphs",
                "operation", "fetches", "chain"
            );
            for summary in &summaries {
                println!(
                    "{:<28} {:>7} {:>6}  {}",
                    summary.operation,
                    summary.fetches,
                    summary.longest_chain,
                    summary.subgraphs.join(", ")
                );
            }
        }
        Format::Markdown => {
            println!("| operation | fetches | chain | subgraphs |\n|---|---:|---:|---|");
            for summary in &summaries {
                println!(
                    "| `{}` | {} | {} | {} |",
                    summary.operation,
                    summary.fetches,
                    summary.longest_chain,
                    summary.subgraphs.join(", ")
                );
            }
        }
    }
    if let Some(directory) = &arguments.plans {
        report_plan_changes(directory, &summaries, &violations, arguments.update_plans)?;
    }
    for violation in &violations {
        eprintln!("over budget: {} {}", violation.operation, violation.message);
    }
    Ok(violations.is_empty())
}

/// Shows over-budget plans next to their last accepted version, notes
/// plans that changed within budget, and rewrites the accepted plans when
/// asked to.
fn report_plan_changes(
    directory: &Path,
    summaries: &[PlanSummary],
    violations: &[crate::plan::BudgetViolation],
    update: bool,
) -> Result<(), RegistryError> {
    for summary in summaries {
        let path = plan_file(directory, &summary.operation);
        let accepted = std::fs::read_to_string(&path).ok();
        let over_budget = violations
            .iter()
            .any(|violation| violation.operation == summary.operation);
        if over_budget {
            eprintln!(
                "\n{} is over budget. Last accepted plan ({}) and the new plan:\n{}",
                summary.operation,
                path.display(),
                side_by_side(
                    "accepted",
                    accepted.as_deref().unwrap_or("(none committed)"),
                    "new",
                    &summary.plan,
                    70,
                )
            );
        } else if accepted
            .as_deref()
            .is_some_and(|accepted| accepted != summary.plan)
            && !update
        {
            eprintln!(
                "note: the plan of {} changed within its budget; accept it with --update-plans",
                summary.operation
            );
        }
        if update {
            std::fs::create_dir_all(directory).map_err(|source| RegistryError::Write {
                path: directory.to_path_buf(),
                source,
            })?;
            std::fs::write(&path, &summary.plan).map_err(|source| RegistryError::Write {
                path: path.clone(),
                source,
            })?;
        }
    }
    Ok(())
}

#[allow(clippy::print_stdout)]
fn compose(
    config: &Path,
    document: ComposedDocument,
    output: Option<&PathBuf>,
) -> Result<Option<PathBuf>, RegistryError> {
    let composed = composed_document(config, document)?;
    match output {
        Some(path) => {
            std::fs::write(path, &composed).map_err(|source| RegistryError::Write {
                path: path.clone(),
                source,
            })?;
            Ok(Some(path.clone()))
        }
        None => {
            print!("{composed}");
            Ok(None)
        }
    }
}

/// Runs `check` and prints its report; `Ok(false)` when the check fails.
#[allow(clippy::print_stdout)]
fn check(arguments: &CheckArguments) -> Result<bool, RegistryError> {
    let config = SupergraphConfig::load(&arguments.config)?;
    let proposed =
        std::fs::read_to_string(&arguments.schema).map_err(|source| RegistryError::Read {
            path: arguments.schema.clone(),
            source,
        })?;
    let committed = arguments
        .config
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("supergraph.graphql");
    let baseline = match &arguments.baseline {
        None => crate::check::Baseline::File(committed.clone()),
        Some(text) => crate::check::Baseline::parse(text, &committed).map_err(|message| {
            RegistryError::Config {
                path: PathBuf::from("--baseline"),
                message,
            }
        })?,
    };
    let baseline_sdl = baseline.load()?;
    let mut operations = match &arguments.operations {
        Some(path) => load_operations(path)?,
        None => Vec::new(),
    };
    if let crate::check::Baseline::Registry { url } = &baseline {
        // The registry's client operations join the check, as far as they
        // are valid against the baseline: one already broken by an earlier,
        // approved change is not this proposal's doing.
        let api = crate::check::api_schema_of_supergraph(&baseline_sdl, Path::new(url))?;
        operations.extend(crate::check::operations_valid_against(
            &api,
            crate::remote::registry_operations(url)?,
        ));
    }
    let report = crate::check::check_subgraph(
        &config,
        &arguments.subgraph,
        &proposed,
        &baseline_sdl,
        &committed,
        &operations,
    )?;
    let rendered = match arguments.format {
        Format::Human => crate::report::human(&report, &proposed, &arguments.schema),
        Format::Markdown => crate::report::markdown(&report),
        Format::Json => crate::report::json(&report),
    };
    print!("{rendered}");
    Ok(report.passed())
}
