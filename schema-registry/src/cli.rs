//! The `schema-check` command line.
//!
//! Exit codes: 0 success, 1 a failed check (composition errors, a stale
//! supergraph, a plan over budget), 2 usage or input error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::operations::load_operations;
use crate::plan::{PlanSummary, check_budgets, load_budgets, plan_operations, side_by_side};
use crate::{RegistryError, SupergraphConfig, compose_from_config};

const USAGE: &str = "usage: schema-check check --subgraph NAME --schema FILE [--config router/supergraph.yaml]
                          [--baseline FILE | git:REV | registry:URL] [--operations DIR|FILE|MANIFEST]
                          [--format human|json|markdown]
       schema-check compose [--config router/supergraph.yaml] [--output FILE | --check FILE]
       schema-check plan [--supergraph router/supergraph.graphql] [--operations pages]
                         [--budgets FILE] [--plans DIR] [--update-plans] [--format human|json]

  check     compose the proposed schema of one subgraph with the others and compare the
            client-facing API schema with the baseline (default: the committed supergraph
            next to the configuration). Reports composition errors, every change as
            BREAKING, DANGEROUS or SAFE with the operations it affects, and operations
            that no longer validate. Exits 1 on a composition error, a breaking change or
            an invalid operation.
  compose   compose the subgraphs named in the configuration into a supergraph;
            writes it to --output (or standard output); with --check, compares it
            with FILE instead and exits 1 when FILE is stale. Exits 1 on composition errors.
  plan      plan every operation in --operations with the router's query planner and
            report subgraphs touched, fetches and the longest chain of dependent
            fetches. With --budgets, exits 1 when an operation exceeds its budget and
            shows its last accepted plan (from --plans) next to the new one.
            --update-plans rewrites the accepted plans in --plans.

Registry commands (URL from --registry, else SCHEMA_REGISTRY_URL, else http://127.0.0.1:4100;
token from SCHEMA_REGISTRY_TOKEN):
       schema-check publish --subgraph NAME --schema FILE [--routing-url URL] [--config FILE]
                            [--approve REASON] [--dry-run] [--format human|json|markdown]
       schema-check fetch [--subgraph NAME [--version N]] [--output FILE] [--if-none-match ETAG]
       schema-check history --subgraph NAME [--format human|json]
       schema-check diff --subgraph NAME [--from N] [--to N] [--format human|json]
       schema-check register-operations --client NAME --client-version VERSION
                            --operations DIR|FILE|MANIFEST

  publish   the registry runs the same check against its latest supergraph and its
            registered client operations; a failing check is refused (exit 1) unless
            --approve gives the reason, which the registry records with the token's name.
            --dry-run only checks. The routing URL defaults to the configuration's.
  fetch     the latest composed supergraph (or a subgraph version's SDL).
  history   a subgraph's published versions, their changes and approvals.
  diff      the classified changes between two published versions of a subgraph.
  register-operations
            registers a client version's operations: they make checks usage-aware and
            form the safelist (GET /api/safelist).";

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Compose {
        config: PathBuf,
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
        format: crate::remote::RemoteFormat,
    },
    Diff {
        registry: String,
        subgraph: String,
        from: Option<String>,
        to: Option<String>,
        format: crate::remote::RemoteFormat,
    },
    RegisterOperations {
        registry: String,
        client: String,
        client_version: String,
        operations: PathBuf,
    },
    Help,
}

/// How `check` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckFormat {
    Human,
    Json,
    Markdown,
}

/// The options of `schema-check check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckArguments {
    pub subgraph: String,
    pub schema: PathBuf,
    pub config: PathBuf,
    pub baseline: Option<String>,
    pub operations: Option<PathBuf>,
    pub format: CheckFormat,
}

/// How `plan` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Human,
    Json,
}

/// The options of `schema-check plan`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanArguments {
    pub supergraph: PathBuf,
    pub operations: PathBuf,
    pub budgets: Option<PathBuf>,
    pub plans: Option<PathBuf>,
    pub update_plans: bool,
    pub format: OutputFormat,
}

/// The value after `flag`, or a usage error naming the flag.
fn flag_value<'a>(
    flag: &str,
    remaining: &mut impl Iterator<Item = &'a String>,
) -> Result<String, String> {
    remaining
        .next()
        .cloned()
        .ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"))
}

fn remote_format(text: &str) -> Result<crate::remote::RemoteFormat, String> {
    match text {
        "human" => Ok(crate::remote::RemoteFormat::Human),
        "json" => Ok(crate::remote::RemoteFormat::Json),
        "markdown" => Ok(crate::remote::RemoteFormat::Markdown),
        other => Err(format!(
            "--format must be human, json or markdown, not {other}\n\n{USAGE}"
        )),
    }
}

/// Flags of the registry commands, gathered before each command takes
/// the ones it understands.
#[derive(Debug, Default)]
struct RemoteFlags {
    values: std::collections::BTreeMap<String, String>,
    switches: std::collections::BTreeSet<String>,
}

impl RemoteFlags {
    fn parse(rest: &[String], valued: &[&str], switches: &[&str]) -> Result<Self, String> {
        let mut flags = Self::default();
        let mut remaining = rest.iter();
        while let Some(flag) = remaining.next() {
            if switches.contains(&flag.as_str()) {
                flags.switches.insert(flag.clone());
            } else if valued.contains(&flag.as_str()) || flag == "--registry" {
                let value = flag_value(flag, &mut remaining)?;
                flags.values.insert(flag.clone(), value);
            } else {
                return Err(format!("unknown option {flag}\n\n{USAGE}"));
            }
        }
        Ok(flags)
    }

    fn take(&mut self, flag: &str) -> Option<String> {
        self.values.remove(flag)
    }

    fn require(&mut self, flag: &str, command: &str) -> Result<String, String> {
        self.take(flag)
            .ok_or_else(|| format!("{command} needs {flag}\n\n{USAGE}"))
    }

    fn registry(&mut self) -> String {
        self.take("--registry")
            .unwrap_or_else(crate::remote::default_registry_url)
    }

    fn format(&mut self) -> Result<crate::remote::RemoteFormat, String> {
        self.take("--format")
            .map_or(Ok(crate::remote::RemoteFormat::Human), |text| {
                remote_format(&text)
            })
    }
}

/// Parses the registry commands; `None` for any other verb.
fn parse_remote(verb: &str, rest: &[String]) -> Option<Result<Command, String>> {
    let parsed = match verb {
        "publish" => RemoteFlags::parse(
            rest,
            &[
                "--subgraph",
                "--schema",
                "--routing-url",
                "--config",
                "--approve",
                "--format",
            ],
            &["--dry-run"],
        )
        .and_then(|mut flags| {
            Ok(Command::Publish(crate::remote::PublishArguments {
                subgraph: flags.require("--subgraph", verb)?,
                schema: PathBuf::from(flags.require("--schema", verb)?),
                routing_url: flags.take("--routing-url"),
                config: PathBuf::from(
                    flags
                        .take("--config")
                        .unwrap_or_else(|| "router/supergraph.yaml".to_owned()),
                ),
                approval_reason: match flags.take("--approve") {
                    Some(reason) if reason.trim().is_empty() => {
                        return Err(format!(
                            "--approve needs a reason: why breaking these clients is acceptable\n\n{USAGE}"
                        ));
                    }
                    other => other,
                },
                dry_run: flags.switches.contains("--dry-run"),
                format: flags.format()?,
                registry: flags.registry(),
            }))
        }),
        "fetch" => RemoteFlags::parse(
            rest,
            &["--subgraph", "--version", "--output", "--if-none-match"],
            &[],
        )
        .and_then(|mut flags| {
            let arguments = crate::remote::FetchArguments {
                subgraph: flags.take("--subgraph"),
                version: flags.take("--version"),
                output: flags.take("--output").map(PathBuf::from),
                if_none_match: flags.take("--if-none-match"),
                registry: flags.registry(),
            };
            if arguments.version.is_some() && arguments.subgraph.is_none() {
                return Err(format!("--version needs --subgraph\n\n{USAGE}"));
            }
            Ok(Command::Fetch(arguments))
        }),
        "history" => RemoteFlags::parse(rest, &["--subgraph", "--format"], &[]).and_then(
            |mut flags| {
                Ok(Command::History {
                    subgraph: flags.require("--subgraph", verb)?,
                    format: flags.format()?,
                    registry: flags.registry(),
                })
            },
        ),
        "diff" => RemoteFlags::parse(rest, &["--subgraph", "--from", "--to", "--format"], &[])
            .and_then(|mut flags| {
                Ok(Command::Diff {
                    subgraph: flags.require("--subgraph", verb)?,
                    from: flags.take("--from"),
                    to: flags.take("--to"),
                    format: flags.format()?,
                    registry: flags.registry(),
                })
            }),
        "register-operations" => RemoteFlags::parse(
            rest,
            &["--client", "--client-version", "--operations"],
            &[],
        )
        .and_then(|mut flags| {
            Ok(Command::RegisterOperations {
                client: flags.require("--client", verb)?,
                client_version: flags.require("--client-version", verb)?,
                operations: PathBuf::from(flags.require("--operations", verb)?),
                registry: flags.registry(),
            })
        }),
        _ => return None,
    };
    Some(parsed)
}

/// Parses arguments (without the program name).
pub fn parse(arguments: &[String]) -> Result<Command, String> {
    let Some((verb, rest)) = arguments.split_first() else {
        return Err(USAGE.to_owned());
    };
    if let Some(parsed) = parse_remote(verb, rest) {
        return parsed;
    }
    match verb.as_str() {
        "help" | "--help" | "-h" => Ok(Command::Help),
        "compose" => {
            let mut config = PathBuf::from("router/supergraph.yaml");
            let mut output = None;
            let mut check = None;
            let mut remaining = rest.iter();
            while let Some(flag) = remaining.next() {
                let mut value = || flag_value(flag, &mut remaining);
                match flag.as_str() {
                    "--config" => config = PathBuf::from(value()?),
                    "--output" => output = Some(PathBuf::from(value()?)),
                    "--check" => check = Some(PathBuf::from(value()?)),
                    other => return Err(format!("unknown option {other}\n\n{USAGE}")),
                }
            }
            if output.is_some() && check.is_some() {
                return Err(format!(
                    "--output and --check exclude each other\n\n{USAGE}"
                ));
            }
            Ok(Command::Compose {
                config,
                output,
                check,
            })
        }
        "check" => {
            let mut subgraph = None;
            let mut schema = None;
            let mut config = PathBuf::from("router/supergraph.yaml");
            let mut baseline = None;
            let mut operations = None;
            let mut format = CheckFormat::Human;
            let mut remaining = rest.iter();
            while let Some(flag) = remaining.next() {
                let mut value = || flag_value(flag, &mut remaining);
                match flag.as_str() {
                    "--subgraph" => subgraph = Some(value()?),
                    "--schema" => schema = Some(PathBuf::from(value()?)),
                    "--config" => config = PathBuf::from(value()?),
                    "--baseline" => baseline = Some(value()?),
                    "--operations" => operations = Some(PathBuf::from(value()?)),
                    "--format" => {
                        format = match value()?.as_str() {
                            "human" => CheckFormat::Human,
                            "json" => CheckFormat::Json,
                            "markdown" => CheckFormat::Markdown,
                            other => {
                                return Err(format!(
                                    "--format must be human, json or markdown, not {other}\n\n{USAGE}"
                                ));
                            }
                        }
                    }
                    other => return Err(format!("unknown option {other}\n\n{USAGE}")),
                }
            }
            let (Some(subgraph), Some(schema)) = (subgraph, schema) else {
                return Err(format!("check needs --subgraph and --schema\n\n{USAGE}"));
            };
            Ok(Command::Check(CheckArguments {
                subgraph,
                schema,
                config,
                baseline,
                operations,
                format,
            }))
        }
        "plan" => {
            let mut arguments = PlanArguments {
                supergraph: PathBuf::from("router/supergraph.graphql"),
                operations: PathBuf::from("pages"),
                budgets: None,
                plans: None,
                update_plans: false,
                format: OutputFormat::Human,
            };
            let mut remaining = rest.iter();
            while let Some(flag) = remaining.next() {
                let mut value = || flag_value(flag, &mut remaining);
                match flag.as_str() {
                    "--supergraph" => arguments.supergraph = PathBuf::from(value()?),
                    "--operations" => arguments.operations = PathBuf::from(value()?),
                    "--budgets" => arguments.budgets = Some(PathBuf::from(value()?)),
                    "--plans" => arguments.plans = Some(PathBuf::from(value()?)),
                    "--update-plans" => arguments.update_plans = true,
                    "--format" => {
                        arguments.format = match value()?.as_str() {
                            "human" => OutputFormat::Human,
                            "json" => OutputFormat::Json,
                            other => {
                                return Err(format!(
                                    "--format must be human or json, not {other}\n\n{USAGE}"
                                ));
                            }
                        }
                    }
                    other => return Err(format!("unknown option {other}\n\n{USAGE}")),
                }
            }
            if arguments.update_plans && arguments.plans.is_none() {
                return Err(format!("--update-plans needs --plans DIR\n\n{USAGE}"));
            }
            Ok(Command::Plan(arguments))
        }
        other => Err(format!("unknown command {other}\n\n{USAGE}")),
    }
}

/// Runs the command line and returns the process exit code.
#[allow(clippy::print_stdout)]
pub fn run(arguments: Vec<String>) -> ExitCode {
    let command = match parse(&arguments) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            eprintln!("{USAGE}");
            ExitCode::SUCCESS
        }
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
        Command::Compose {
            config,
            output: _,
            check: Some(committed),
        } => match compose_check(&config, &committed) {
            Ok(true) => {
                eprintln!("{} is up to date", committed.display());
                ExitCode::SUCCESS
            }
            Ok(false) => {
                eprintln!(
                    "{} is stale: it is not what {} composes to. Regenerate it with\n  schema-check compose --config {} --output {}",
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
            output,
            check: None,
        } => match compose(&config, output.as_ref()) {
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

/// Whether `committed` is exactly what the configuration composes to.
fn compose_check(config: &Path, committed: &Path) -> Result<bool, RegistryError> {
    let config = SupergraphConfig::load(config)?;
    let supergraph = compose_from_config(&config)?;
    let existing = std::fs::read_to_string(committed).map_err(|source| RegistryError::Read {
        path: committed.to_path_buf(),
        source,
    })?;
    Ok(existing == supergraph.sdl)
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
        OutputFormat::Json => {
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
        OutputFormat::Human => {
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
fn compose(config: &Path, output: Option<&PathBuf>) -> Result<Option<PathBuf>, RegistryError> {
    let config = SupergraphConfig::load(config)?;
    let supergraph = compose_from_config(&config)?;
    match output {
        Some(path) => {
            std::fs::write(path, &supergraph.sdl).map_err(|source| RegistryError::Write {
                path: path.clone(),
                source,
            })?;
            Ok(Some(path.clone()))
        }
        None => {
            print!("{}", supergraph.sdl);
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
        CheckFormat::Human => crate::report::human(&report, &proposed, &arguments.schema),
        CheckFormat::Markdown => crate::report::markdown(&report),
        CheckFormat::Json => crate::report::json(&report),
    };
    print!("{rendered}");
    Ok(report.passed())
}
