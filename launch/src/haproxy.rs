//! HAProxy (Debian's `haproxy`) in front of replicas, standing where a
//! Kubernetes Service stands: one frontend per service on a loopback port,
//! its replicas checked on a health path every 250 ms and taken out of
//! rotation at the first failed check, back after two good ones.
//!
//! Like a Service it does not retry a request a replica received; it only
//! moves a request whose connection could not be made to another replica
//! (`retry-on conn-failure`), as a Service's endpoint list would never
//! have offered a replica that is gone.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::LaunchError;
use crate::process::{ChildProcess, Readiness};

/// One service behind the proxy.
#[derive(Debug, Clone)]
pub struct ProxiedService {
    pub name: String,
    /// Where clients reach the service.
    pub frontend: SocketAddr,
    /// The replicas: a name and the address requests go to.
    pub replicas: Vec<(String, SocketAddr)>,
    /// `GET` path that answers 200 while a replica should get requests.
    pub health_path: String,
    /// The port the health path is served on, when it is not the
    /// replica's own (Apollo Router's health check listens apart).
    pub health_ports: Option<Vec<u16>>,
}

/// A running HAProxy; stopped by its pid when dropped.
pub struct Haproxy {
    pub process: ChildProcess,
    pub config_path: PathBuf,
    /// The runtime API's socket (`set server … state …`).
    pub admin_socket: PathBuf,
}

fn binary() -> PathBuf {
    ["/usr/sbin/haproxy", "/usr/bin/haproxy"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from("haproxy"))
}

/// HAProxy's configuration for `services`.
pub fn haproxy_config(services: &[ProxiedService], admin_socket: &Path) -> String {
    let mut config = format!(
        "# Written by talentgraph-launch (launch/src/haproxy.rs).\n\
         global\n    maxconn 4000\n    stats socket {} mode 600 level admin\n\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 60s\n    \
         timeout server 60s\n    option http-keep-alive\n    retries 3\n    \
         retry-on conn-failure\n    option redispatch\n\n",
        admin_socket.display()
    );
    for service in services {
        config.push_str(&format!(
            "frontend {name}\n    bind {frontend}\n    default_backend {name}\n\n\
             backend {name}\n    balance roundrobin\n    option httpchk GET {path}\n    \
             http-check expect status 200\n    default-server inter 250ms fall 1 rise 2\n",
            name = service.name,
            frontend = service.frontend,
            path = service.health_path,
        ));
        for (index, (replica, address)) in service.replicas.iter().enumerate() {
            let port = service
                .health_ports
                .as_ref()
                .and_then(|ports| ports.get(index))
                .map(|port| format!(" port {port}"))
                .unwrap_or_default();
            config.push_str(&format!("    server {replica} {address} check{port}\n"));
        }
        config.push('\n');
    }
    config
}

impl Haproxy {
    /// Writes the configuration into `directory` and starts HAProxy in the
    /// foreground; ready once every frontend accepts connections.
    pub fn start(directory: &Path, services: &[ProxiedService]) -> Result<Self, LaunchError> {
        std::fs::create_dir_all(directory).map_err(|source| LaunchError::Write {
            path: directory.to_path_buf(),
            source,
        })?;
        let config_path = directory.join("haproxy.cfg");
        let admin_socket = directory.join("haproxy.sock");
        std::fs::write(&config_path, haproxy_config(services, &admin_socket)).map_err(
            |source| LaunchError::Write {
                path: config_path.clone(),
                source,
            },
        )?;
        let mut command = Command::new(binary());
        command.arg("-db").arg("-f").arg(&config_path);
        let mut process = ChildProcess::spawn("haproxy", command, &directory.join("haproxy.log"))
            .map_err(|error| match error {
            LaunchError::Process { message, .. } => LaunchError::Process {
                name: "haproxy".to_owned(),
                message: format!("{message} (Debian: apt-get install haproxy)"),
            },
            other => other,
        })?;
        for service in services {
            if let Err(failure) = process.wait_until_ready(
                &Readiness::Listening(service.frontend),
                Duration::from_secs(20),
            ) {
                return Err(LaunchError::Process {
                    name: "haproxy".to_owned(),
                    message: format!("{failure}; its log:\n{}", process.log()),
                });
            }
        }
        Ok(Self {
            process,
            config_path,
            admin_socket,
        })
    }
}

impl Haproxy {
    /// Whether HAProxy counts `server` of `backend` as up (its checks
    /// passed), asked through the runtime API's `show stat`.
    pub fn server_is_up(&self, backend: &str, server: &str) -> bool {
        use std::io::{Read, Write};
        let Ok(mut socket) = std::os::unix::net::UnixStream::connect(&self.admin_socket) else {
            return false;
        };
        let _ = socket.set_read_timeout(Some(Duration::from_secs(2)));
        if socket.write_all(b"show stat\n").is_err() {
            return false;
        }
        let mut stats = String::new();
        let _ = socket.read_to_string(&mut stats);
        // CSV: proxy name, server name, ..., the 18th column is the status.
        stats.lines().any(|line| {
            let columns: Vec<&str> = line.split(',').collect();
            columns.len() > 17
                && columns[0] == backend
                && columns[1] == server
                && columns[17].starts_with("UP")
        })
    }

    /// Waits until `server` of `backend` is up, at most `timeout`.
    pub async fn wait_until_up(&self, backend: &str, server: &str, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if self.server_is_up(backend, server) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }
}
