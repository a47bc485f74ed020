//! The NATS server a stack's events go through: the one in `NATS_URL`, or
//! a `nats-server -js` of the stack's own with its store in a directory
//! (`talentgraph_kit::local_nats`, the one place that runs the binary).

use std::path::Path;

use talentgraph_kit::local_nats::NatsServer;

use crate::{LaunchError, non_blank_variable};

/// The stack's broker; a server started here stops when this is dropped.
pub struct NatsService {
    url: String,
    server: Option<NatsServer>,
}

impl NatsService {
    /// The server in `NATS_URL`, or one started on `port` with its store in
    /// `store`.
    pub fn from_environment_or_local(port: u16, store: &Path) -> Result<Self, LaunchError> {
        if let Some(url) = non_blank_variable("NATS_URL") {
            eprintln!("▸ using the NATS server in NATS_URL");
            return Ok(Self { url, server: None });
        }
        eprintln!(
            "▸ starting NATS (JetStream) in {} on port {port}",
            store.display()
        );
        let server = NatsServer::start_kept(port, store).map_err(|message| {
            LaunchError::Nats(format!("{message} (or set NATS_URL to a server of yours)"))
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
        self.server.as_ref().and_then(NatsServer::pid)
    }
}

impl Drop for NatsService {
    fn drop(&mut self) {
        if self.server.is_some() {
            eprintln!("▸ stopping NATS");
        }
    }
}
