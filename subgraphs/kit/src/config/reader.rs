//! Reads declared variables through a lookup, with typed, ranged parsing
//! and errors that name the variable.

use std::str::FromStr;
use std::time::Duration;

use super::{ConfigError, Variable, VariableDoc};

/// A declared variable: the kit's own, or one a subgraph crate declares
/// for its domain.
pub trait DeclaredVariable: Copy {
    fn name(self) -> &'static str;
}

impl DeclaredVariable for Variable {
    fn name(self) -> &'static str {
        Variable::name(self)
    }
}

impl DeclaredVariable for &'static VariableDoc {
    fn name(self) -> &'static str {
        self.name
    }
}

/// Reads declared variables through a lookup (the process environment, or
/// a test's map).
pub struct VariableReader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> VariableReader<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup }
    }

    /// The trimmed value, with an empty value treated as unset: an empty
    /// `FOO=` in a compose file or shell almost always means "use the default".
    pub fn raw(&self, variable: impl DeclaredVariable) -> Option<String> {
        (self.lookup)(variable.name())
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    pub fn parsed<T: FromStr>(
        &self,
        variable: impl DeclaredVariable,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.raw(variable) {
            None => Ok(default),
            Some(value) => value.parse().map_err(|_| ConfigError::Invalid {
                variable: variable.name(),
                value,
                expected: expected.to_owned(),
            }),
        }
    }

    /// A duration given in whole units (`Duration::from_secs`,
    /// `Duration::from_millis`), within `minimum..=maximum` of them.
    pub fn duration(
        &self,
        variable: impl DeclaredVariable,
        from_units: fn(u64) -> Duration,
        default: u64,
        minimum: u64,
        maximum: u64,
    ) -> Result<Duration, ConfigError> {
        Ok(from_units(
            self.ranged(variable, default, minimum, maximum)?,
        ))
    }

    pub fn ranged<T>(
        &self,
        variable: impl DeclaredVariable,
        default: T,
        minimum: T,
        maximum: T,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let expected = format!("a whole number from {minimum} to {maximum}");
        let value = self.parsed(variable, default, &expected)?;
        if value < minimum || value > maximum {
            return Err(ConfigError::Invalid {
                variable: variable.name(),
                value: value.to_string(),
                expected,
            });
        }
        Ok(value)
    }
}
