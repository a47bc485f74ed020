//! The Redis a stack's rate limits are shared in: the one in `REDIS_URL`,
//! or a `redis-server` of the stack's own on its own port with its data
//! folder (`talentgraph_kit::local_redis`, the one place that runs the
//! binary). Never the machine's Redis on 6379 unless `REDIS_URL` says so.

use std::path::Path;

use talentgraph_kit::local_redis::RedisServer;

use crate::{LaunchError, non_blank_variable};

/// The stack's Redis; a server started here stops when this is dropped.
pub struct RedisService {
    url: String,
    server: Option<RedisServer>,
}

impl RedisService {
    /// The server in `REDIS_URL`, or one started on `port` with its data
    /// in `directory`.
    pub fn from_environment_or_local(port: u16, directory: &Path) -> Result<Self, LaunchError> {
        if let Some(url) = non_blank_variable("REDIS_URL") {
            eprintln!("▸ using the Redis in REDIS_URL");
            return Ok(Self { url, server: None });
        }
        eprintln!("▸ starting Redis in {} on port {port}", directory.display());
        let server = RedisServer::start_kept(port, directory).map_err(|message| {
            LaunchError::Redis(format!("{message} (or set REDIS_URL to a server of yours)"))
        })?;
        Ok(Self {
            url: server.url(),
            server: Some(server),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The pid of the server started here, if one was.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().and_then(RedisServer::pid)
    }
}

impl Drop for RedisService {
    fn drop(&mut self) {
        if self.server.is_some() {
            eprintln!("▸ stopping Redis");
        }
    }
}
