//! The NATS server a stack's events go through: the one in `NATS_URL`, or
//! a `nats-server -js` of the stack's own with its store in a directory
//! (`talentgraph_kit::local_nats`, the one place that runs the binary),
//! or a cluster of them.

use std::path::Path;

use talentgraph_kit::local_nats::{ClusterMembership, NatsServer};

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

/// A JetStream cluster of local `nats-server` processes joined by routes,
/// as production runs three; streams declared with `NATS_STREAM_REPLICAS`
/// = its size survive losing a member.
pub struct NatsCluster {
    members: Vec<NatsServer>,
}

impl NatsCluster {
    /// Starts `size` members on free loopback ports, each with its store in
    /// `directory/<n>`.
    pub fn start(directory: &Path, size: usize) -> Result<Self, LaunchError> {
        let unused = talentgraph_kit::local_ports::unused_loopback_port;
        let route_ports: Vec<u16> = (0..size).map(|_| unused()).collect();
        let mut members = Vec::new();
        for (index, route_port) in route_ports.iter().enumerate() {
            let membership = ClusterMembership {
                cluster_name: "talentgraph".to_owned(),
                route_port: *route_port,
                peer_route_ports: route_ports
                    .iter()
                    .filter(|port| *port != route_port)
                    .copied()
                    .collect(),
            };
            let member = NatsServer::start_cluster_member(
                unused(),
                &directory.join(index.to_string()),
                membership,
            )
            .map_err(LaunchError::Nats)?;
            members.push(member);
        }
        Ok(Self { members })
    }

    /// Every member's URL, comma-separated, as clients (`NATS_URL`) take it.
    pub fn url(&self) -> String {
        self.members
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn members(&self) -> &[NatsServer] {
        &self.members
    }

    /// Member `index`, to stop (a crash) and resume on its port and store.
    pub fn member_mut(&mut self, index: usize) -> &mut NatsServer {
        &mut self.members[index]
    }
}
