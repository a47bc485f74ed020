//! The local provider for development and tests: a `localstripe` process
//! (PyPI, a stateful fake of Stripe's API) on a free port, and this crate's
//! proxy in front of it on another. Callers talk to the proxy.
//!
//! localstripe writes its whole store to `/tmp/localstripe.pickle` after
//! every change, one shared path for every instance on the machine; the
//! launcher turns that off, so each instance keeps its state in memory and
//! parallel tests cannot overwrite each other's file.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::proxy::{Faults, ProxyStats};

/// The pinned localstripe version `scripts/install-localstripe.sh`
/// installs.
pub const LOCALSTRIPE_VERSION: &str = "1.15.10";

/// The secret key the local provider is used with; localstripe accepts any
/// `sk_…` key.
pub const LOCAL_SECRET_KEY: &str = "sk_test_talentgraph_local";

/// Starts localstripe without its on-disk store.
const LAUNCHER: &str = "import sys\n\
import localstripe.resources as resources\n\
resources.Store.dump_to_disk = lambda self: None\n\
from localstripe.server import start\n\
sys.argv = ['localstripe', '--port', sys.argv[1], '--from-scratch']\n\
start()\n";

/// The Python interpreter of the virtual environment localstripe is
/// installed in: `TALENTGRAPH_LOCALSTRIPE_PYTHON`, or where the install
/// script puts it.
pub fn localstripe_python() -> PathBuf {
    if let Some(path) = std::env::var_os("TALENTGRAPH_LOCALSTRIPE_PYTHON") {
        return PathBuf::from(path);
    }
    let tools = std::env::var_os("TALENTGRAPH_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".cache/talentgraph")
        });
    tools
        .join(format!("localstripe-{LOCALSTRIPE_VERSION}"))
        .join("bin/python")
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| format!("no free port: {error}"))
}

/// Polls localstripe on `port` until it answers; it takes about a second
/// to import.
async fn wait_until_ready(
    localstripe: &mut Child,
    port: u16,
    http: &reqwest::Client,
) -> Result<(), LocalstripeStartFailure> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = localstripe.try_wait() {
            return Err(LocalstripeStartFailure::Exited(status));
        }
        let answer = http
            .get(format!("http://127.0.0.1:{port}/v1/customers"))
            .basic_auth(LOCAL_SECRET_KEY, Some(""))
            .send()
            .await;
        if answer.is_ok_and(|answer| answer.status().is_success()) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(LocalstripeStartFailure::Other(
                "localstripe did not answer within 20 s".to_owned(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A running localstripe and its proxy. Dropping it stops both.
pub struct LocalProvider {
    localstripe: Child,
    localstripe_port: u16,
    proxy_port: u16,
    proxy: tokio::task::JoinHandle<()>,
    http: reqwest::Client,
}

/// How many ports [`LocalProvider::start`] tries localstripe on.
const START_ATTEMPTS: usize = 5;

/// Why localstripe did not come up.
enum LocalstripeStartFailure {
    /// The process ended, most likely because another process bound its
    /// port between the choice and localstripe's start.
    Exited(std::process::ExitStatus),
    Other(String),
}

impl LocalProvider {
    /// Starts localstripe and the proxy; must run inside a Tokio runtime
    /// (the proxy is a task of it).
    pub async fn start() -> Result<Self, String> {
        let python = localstripe_python();
        if !python.exists() {
            return Err(format!(
                "localstripe is not installed at {}: run `bash scripts/install-localstripe.sh` \
                 (or point TALENTGRAPH_LOCALSTRIPE_PYTHON at a Python that has localstripe {LOCALSTRIPE_VERSION})",
                python.display()
            ));
        }
        let http = reqwest::Client::new();
        let mut attempt = 1;
        let (localstripe, localstripe_port) = loop {
            let localstripe_port = free_port()?;
            let mut localstripe = Command::new(&python)
                .arg("-c")
                .arg(LAUNCHER)
                .arg(localstripe_port.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|error| format!("could not start localstripe: {error}"))?;
            match wait_until_ready(&mut localstripe, localstripe_port, &http).await {
                Ok(()) => break (localstripe, localstripe_port),
                Err(LocalstripeStartFailure::Exited(_)) if attempt < START_ATTEMPTS => {
                    attempt += 1;
                }
                Err(failure) => {
                    let _ = localstripe.kill();
                    let _ = localstripe.wait();
                    return Err(match failure {
                        LocalstripeStartFailure::Exited(status) => format!(
                            "localstripe exited with {status} at each of {START_ATTEMPTS} starts, \
                             each on another port (if not its port, its installation: try \
                             `{} -c 'import localstripe'`)",
                            python.display()
                        ),
                        LocalstripeStartFailure::Other(message) => message,
                    });
                }
            }
        };
        // The proxy binds its listener itself and keeps it, so its port
        // cannot be lost to another process.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|error| format!("no port for the proxy: {error}"))?;
        let proxy_port = listener
            .local_addr()
            .map_err(|error| error.to_string())?
            .port();
        let upstream = format!("http://127.0.0.1:{localstripe_port}");
        let proxy = tokio::spawn(async move {
            if let Err(error) = crate::proxy::serve(listener, upstream).await {
                tracing::error!(%error, "the provider proxy stopped");
            }
        });
        Ok(Self {
            localstripe,
            localstripe_port,
            proxy_port,
            proxy,
            http,
        })
    }

    /// The proxy's URL: what the payment subgraph is configured with.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.proxy_port)
    }

    /// localstripe itself, behind the proxy.
    pub fn localstripe_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.localstripe_port)
    }

    pub fn proxy_port(&self) -> u16 {
        self.proxy_port
    }

    /// Injects faults into the next requests.
    pub async fn inject(&self, faults: Faults) -> Result<(), String> {
        self.http
            .post(format!("{}/_proxy/faults", self.url()))
            .json(&faults)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map(|_| ())
            .map_err(|error| error.to_string())
    }

    pub async fn stats(&self) -> Result<ProxyStats, String> {
        self.http
            .get(format!("{}/_proxy/stats", self.url()))
            .send()
            .await
            .map_err(|error| error.to_string())?
            .json()
            .await
            .map_err(|error| error.to_string())
    }

    /// Every PaymentIntent localstripe holds, read from localstripe itself
    /// (not the proxy): the charges as the provider counts them.
    pub async fn payment_intents(
        &self,
    ) -> Result<Vec<crate::client::PaymentIntentSummary>, String> {
        crate::client::ProviderClient::new(crate::client::ProviderSettings {
            base_url: self.localstripe_url(),
            secret_key: LOCAL_SECRET_KEY.to_owned(),
            request_timeout: Duration::from_secs(30),
        })
        .map_err(|error| error.to_string())?
        .payment_intents()
        .await
        .map_err(|error| error.to_string())
    }

    /// Has localstripe send signed webhooks for `events` to `url`.
    pub async fn register_webhook(
        &self,
        url: &str,
        secret: &str,
        events: &[&str],
    ) -> Result<(), String> {
        let mut form = vec![("url", url.to_owned()), ("secret", secret.to_owned())];
        for event in events {
            form.push(("events[]", (*event).to_owned()));
        }
        self.http
            .post(format!(
                "{}/_config/webhooks/talentgraph",
                self.localstripe_url()
            ))
            .basic_auth(LOCAL_SECRET_KEY, Some(""))
            .form(&form)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map(|_| ())
            .map_err(|error| error.to_string())
    }
}

impl Drop for LocalProvider {
    fn drop(&mut self) {
        self.proxy.abort();
        let _ = self.localstripe.kill();
        let _ = self.localstripe.wait();
    }
}
