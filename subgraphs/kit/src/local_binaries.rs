//! What the local-server modules (`local_nats`, `local_redis`) share: where
//! a server binary is, and where its data lives.

use std::path::{Path, PathBuf};

/// The binary `name`: the path in `variable` when set, else the first of
/// `candidates` (Debian's places) that exists, else `name` for the `PATH`.
pub(crate) fn server_binary(variable: &str, candidates: &[&str], name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        return PathBuf::from(path);
    }
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Where a local server keeps its data.
pub(crate) enum DataDirectory {
    /// Removed when the server is dropped (tests).
    Temporary(tempfile::TempDir),
    /// Kept between runs (the dev stack).
    Kept(PathBuf),
}

impl DataDirectory {
    pub(crate) fn path(&self) -> &Path {
        match self {
            Self::Temporary(directory) => directory.path(),
            Self::Kept(path) => path,
        }
    }
}
