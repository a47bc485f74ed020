//! The `schema-check` command line.
//!
//! Exit codes: 0 success, 1 composition failure, 2 usage or input error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::{RegistryError, SupergraphConfig, compose_from_config};

const USAGE: &str = "usage: schema-check compose [--config router/supergraph.yaml] [--output FILE]

  compose   compose the subgraphs named in the configuration into a supergraph;
            writes it to --output (or standard output) and exits 1 on composition errors";

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Compose {
        config: PathBuf,
        output: Option<PathBuf>,
    },
    Help,
}

/// Parses arguments (without the program name).
pub fn parse(arguments: &[String]) -> Result<Command, String> {
    let Some((verb, rest)) = arguments.split_first() else {
        return Err(USAGE.to_owned());
    };
    match verb.as_str() {
        "help" | "--help" | "-h" => Ok(Command::Help),
        "compose" => {
            let mut config = PathBuf::from("router/supergraph.yaml");
            let mut output = None;
            let mut remaining = rest.iter();
            while let Some(flag) = remaining.next() {
                let mut value = || {
                    remaining
                        .next()
                        .cloned()
                        .ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"))
                };
                match flag.as_str() {
                    "--config" => config = PathBuf::from(value()?),
                    "--output" => output = Some(PathBuf::from(value()?)),
                    other => return Err(format!("unknown option {other}\n\n{USAGE}")),
                }
            }
            Ok(Command::Compose { config, output })
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
        Command::Compose { config, output } => match compose(&config, output.as_ref()) {
            Ok(composed_to) => {
                if let Some(path) = composed_to {
                    eprintln!("composed {} into {}", config.display(), path.display());
                }
                ExitCode::SUCCESS
            }
            Err(RegistryError::Composition(diagnostics)) => {
                for diagnostic in &diagnostics {
                    eprintln!("{diagnostic}\n");
                }
                eprintln!("composition failed with {} error(s)", diagnostics.len());
                ExitCode::from(1)
            }
            Err(error) => {
                eprintln!("schema-check: {error}");
                ExitCode::from(2)
            }
        },
    }
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
