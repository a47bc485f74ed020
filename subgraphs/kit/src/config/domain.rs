//! Settings a subgraph crate declares for its own domain.
//!
//! The kit reads the platform's variables ([`super::Variable`]); a subgraph
//! whose domain needs settings of its own (auth's token lifetimes,
//! payment's provider) declares them in its crate as [`VariableDoc`]s with
//! a reader, in a [`DomainSettingsSpec`] on its descriptor. They are read
//! at start-up with the platform's, so a malformed value stops the process
//! the same way, are listed by `--help`, and appear in the README's
//! configuration table after the platform's; the kit itself never names
//! them.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use super::reader::VariableReader;
use super::{ConfigError, Environment, VariableDoc};

/// How a subgraph reads the settings of its domain.
#[derive(Clone, Copy)]
pub struct DomainSettingsSpec {
    /// Its variables, in the order the README lists them.
    pub variables: &'static [VariableDoc],
    /// Reads them (through the same reader as the platform's, so absent
    /// and empty values mean the default) into the settings its app finds
    /// in [`DomainSettings`].
    pub read: fn(&VariableReader<'_>, Environment) -> Result<DomainSettings, ConfigError>,
}

/// The settings subgraph crates read, one value per type: a subgraph's app
/// asks for its own type ([`DomainSettings::get`]), and a test may put a
/// value of its choosing in.
#[derive(Clone, Default)]
pub struct DomainSettings {
    by_type: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl DomainSettings {
    /// Settings holding `value`.
    pub fn of<T: Any + Send + Sync>(value: T) -> Self {
        let mut settings = Self::default();
        settings.insert(value);
        settings
    }

    /// Puts `value` in, replacing a value of its type.
    pub fn insert<T: Any + Send + Sync>(&mut self, value: T) {
        self.by_type.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// The value of type `T`, if one was read or put in.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.by_type.get(&TypeId::of::<T>())?.downcast_ref()
    }

    /// Changes the value of type `T` in place (tests tune one setting).
    pub fn update<T: Any + Send + Sync + Clone>(&mut self, change: impl FnOnce(&mut T)) {
        if let Some(mut value) = self.get::<T>().cloned() {
            change(&mut value);
            self.insert(value);
        }
    }
}

/// Domain settings may hold secrets (a provider's key), so only their
/// number is shown.
impl std::fmt::Debug for DomainSettings {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "DomainSettings({} values)", self.by_type.len())
    }
}
