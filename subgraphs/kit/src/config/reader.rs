//! Reads declared variables through a lookup, with typed, ranged parsing
//! and errors that name the variable.

use std::str::FromStr;
use std::time::Duration;

use super::{ConfigError, Variable};

pub(super) struct VariableReader<'a> {
    pub(super) lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl VariableReader<'_> {
    /// The trimmed value, with an empty value treated as unset: an empty
    /// `FOO=` in a compose file or shell almost always means "use the default".
    pub(super) fn raw(&self, variable: Variable) -> Option<String> {
        (self.lookup)(variable.name())
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    pub(super) fn parsed<T: FromStr>(
        &self,
        variable: Variable,
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
    pub(super) fn duration(
        &self,
        variable: Variable,
        from_units: fn(u64) -> Duration,
        default: u64,
        minimum: u64,
        maximum: u64,
    ) -> Result<Duration, ConfigError> {
        Ok(from_units(
            self.ranged(variable, default, minimum, maximum)?,
        ))
    }

    pub(super) fn ranged<T>(
        &self,
        variable: Variable,
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
