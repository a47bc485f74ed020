//! Running a subgraph process: its command line, start-up, serving and
//! graceful shutdown. Its HTTP application is `http_app`'s.

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use crate::config::SubgraphConfig;
use crate::database::Database;
use crate::errors::KitError;
use crate::subgraph::Subgraph;

/// The whole body of a subgraph's `main`: configuration, logging, database,
/// migrations, serving. Start-up failures are printed to standard error
/// with the variable or resource at fault, and the process exits non-zero.
///
/// `<binary> migrate` only applies the migrations and exits, for one-shot
/// migration jobs (docker-compose's `migrate` service, Kubernetes init
/// containers); `<binary>` alone migrates and serves.
pub fn run_subgraph_main<World>(subgraph: &Subgraph<World>) -> ExitCode {
    let command_line = match SubgraphCommandLine::parse_for(subgraph) {
        Ok(command_line) => command_line,
        Err(error) => return command_line_exit(&error),
    };
    let migrate_only = command_line.command == Some(SubgraphCommand::Migrate);
    let config = match subgraph.config_from_lookup(|name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{}: configuration error: {error}", subgraph.name);
            return ExitCode::from(2);
        }
    };
    let export = crate::telemetry::TraceExport::from_lookup(
        &format!("talentgraph-{}", subgraph.name),
        |name| std::env::var(name).ok(),
    );
    let telemetry = match crate::telemetry::init_telemetry(config.log_format, export.as_ref()) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("{}: {error}", subgraph.name);
            return ExitCode::from(2);
        }
    };
    if let Some(export) = &export {
        tracing::info!(endpoint = %export.traces_endpoint, service = %export.service_name, "exporting traces over OTLP");
    }
    let runtime = match async_runtime(config.async_worker_threads) {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!(
                "{}: could not start the async runtime: {error}",
                subgraph.name
            );
            return ExitCode::FAILURE;
        }
    };
    let work = async {
        if migrate_only {
            migrate(subgraph, &config).await
        } else {
            run_subgraph(subgraph, config).await
        }
    };
    let exit = match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(subgraph = subgraph.name, %error, "subgraph stopped with an error");
            eprintln!("{}: {error}", subgraph.name);
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown();
    exit
}

/// The multi-threaded tokio runtime a process serves subgraphs on, with
/// `worker_threads` workers (`ASYNC_WORKER_THREADS`), or tokio's default of
/// one per CPU the process may use when it is `None`. The subgraph binaries
/// and the dev stack build theirs here, so the setting means the same in
/// both.
pub fn async_runtime(worker_threads: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(worker_threads) = worker_threads {
        builder.worker_threads(worker_threads);
    }
    builder.enable_all().build()
}

/// Prints what clap's error says and returns its exit code: `--help` goes
/// to standard output and succeeds, a usage mistake goes to standard error
/// and exits 2. Every binary of the project ends a refused command line
/// this way.
pub fn command_line_exit(error: &clap::Error) -> ExitCode {
    let _ = error.print();
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
}

/// The command line of a subgraph binary.
#[derive(Debug, clap::Parser)]
struct SubgraphCommandLine {
    #[command(subcommand)]
    command: Option<SubgraphCommand>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
enum SubgraphCommand {
    /// Apply pending migrations, then serve (the default).
    Serve,
    /// Apply pending migrations and exit, for one-shot migration jobs.
    Migrate,
}

impl SubgraphCommandLine {
    /// Parses the process's arguments under the subgraph's own binary name,
    /// with the configuration variables listed under `--help`.
    fn parse_for<World>(subgraph: &Subgraph<World>) -> Result<Self, clap::Error> {
        use clap::{CommandFactory, FromArgMatches};
        let mut variables = String::from("Configuration (environment variables):\n");
        for doc in subgraph.variables() {
            variables.push_str(&format!("  {:<40} default {}\n", doc.name, doc.default));
        }
        let matches = Self::command()
            .name(format!("talentgraph-{}", subgraph.name))
            .about(format!(
                "The {} subgraph: GraphQL at /graphql, with /health, /ready and /metrics.",
                subgraph.name
            ))
            .after_long_help(variables)
            .try_get_matches()?;
        Self::from_arg_matches(&matches)
    }
}

/// Connects and applies the subgraph's migrations (sqlx takes a lock, so
/// replicas starting together apply each migration once).
pub async fn migrate<World>(
    subgraph: &Subgraph<World>,
    config: &SubgraphConfig,
) -> Result<(), KitError> {
    let database = Database::connect(
        &config.database_url,
        1,
        config.database_pool.acquire_timeout,
    )
    .await
    .map_err(KitError::DatabaseConnect)?;
    database.run_migrations(subgraph.migrator).await?;
    database.close().await;
    tracing::info!(subgraph = subgraph.name, "migrations applied");
    Ok(())
}

/// Connects, migrates and serves until SIGTERM or Ctrl-C.
pub async fn run_subgraph<World>(
    subgraph: &Subgraph<World>,
    config: SubgraphConfig,
) -> Result<(), KitError> {
    let database = Database::connect_serving(&config.database_url, &config.database_pool)
        .await
        .map_err(KitError::DatabaseConnect)?;
    database.run_migrations(subgraph.migrator).await?;
    let database = database.with_configured_entity_cache(subgraph.name, &config.entity_cache);
    let app = subgraph.deployed_app(database.clone(), &config);
    let public_listener = match config.public_listen_address {
        // Nothing to serve there: a misplaced setting, said at start-up.
        Some(address) if subgraph.public_paths.is_empty() => {
            return Err(KitError::Config(crate::errors::ConfigError::Invalid {
                variable: "PUBLIC_LISTEN_ADDR",
                value: address.to_string(),
                expected: format!("unset: {} serves no public paths", subgraph.name),
            }));
        }
        Some(address) => Some(bind(address).await?),
        None => None,
    };
    let (app, public_app) = match public_listener {
        Some(_) => (
            only_paths(app.clone(), subgraph.public_paths, PathsKept::AllBut),
            Some(only_paths(app, subgraph.public_paths, PathsKept::Only)),
        ),
        None => (app, None),
    };
    let listener = if config.listen_reuse_port {
        bind_shared(config.listen_address)?
    } else {
        bind(config.listen_address).await?
    };
    let address = listener.local_addr().map_err(KitError::Serve)?;
    tracing::info!(
        subgraph = subgraph.name,
        %address,
        database = %crate::config::redact_url_password(&config.database_url),
        "subgraph listening; GraphQL at /graphql"
    );
    // Events: the relay and consumers run beside the server and stop with it.
    let (stop_events, event_stop_signal) = crate::events::StopSignal::new();
    let event_tasks = match &config.nats_url {
        Some(url) => {
            let broker = crate::events::Broker::connect(url, subgraph.name)
                .await
                .map_err(|error| KitError::Events(error.to_string()))?
                .with_stream_replicas(config.nats_stream_replicas);
            subgraph.spawn_event_tasks(&database, &broker, &config, event_stop_signal)
        }
        None => {
            tracing::warn!(
                "NATS_URL is not set: events are recorded but neither relayed nor consumed"
            );
            Vec::new()
        }
    };
    let metrics_server = match config.metrics_listen_address {
        Some(metrics_address) => {
            let metrics_listener = bind(metrics_address).await?;
            tracing::info!(address = %metrics_address, "metrics at /metrics");
            Some(tokio::spawn(serve(
                metrics_listener,
                crate::http_app::metrics_routes(database.clone()),
                shutdown_signal(),
                Duration::from_secs(1),
            )))
        }
        None => None,
    };
    let draining = Draining::default();
    let public_server = match (public_listener, public_app) {
        (Some(public_listener), Some(public_app)) => {
            tracing::info!(
                address = ?config.public_listen_address,
                paths = ?subgraph.public_paths,
                "public paths on a listener of their own"
            );
            Some(tokio::spawn(serve(
                public_listener,
                with_drain(public_app, draining.clone()),
                drain_then_stop(
                    shutdown_signal(),
                    draining.clone(),
                    config.shutdown_drain_period,
                ),
                config.shutdown_grace_period,
            )))
        }
        _ => None,
    };
    serve(
        listener,
        with_drain(app, draining.clone()),
        drain_then_stop(shutdown_signal(), draining, config.shutdown_drain_period),
        config.shutdown_grace_period,
    )
    .await?;
    if let Some(public_server) = public_server {
        let _ = public_server.await;
    }
    if let Some(metrics_server) = metrics_server {
        metrics_server.abort();
    }
    let _ = stop_events.send(true);
    for task in event_tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    database.close().await;
    tracing::info!(subgraph = subgraph.name, "subgraph stopped");
    Ok(())
}

/// Which requests [`only_paths`] lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathsKept {
    /// Only the listed paths: the public listener.
    Only,
    /// Everything but the listed paths: the router's listener.
    AllBut,
}

/// `app` answering 404 for the paths `kept` leaves out, before any of its
/// handlers (or its body limits) sees the request.
pub fn only_paths(app: Router, paths: &'static [&'static str], kept: PathsKept) -> Router {
    app.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| async move {
            use axum::response::IntoResponse as _;
            let listed = paths.contains(&request.uri().path());
            if listed == (kept == PathsKept::Only) {
                next.run(request).await
            } else {
                axum::http::StatusCode::NOT_FOUND.into_response()
            }
        },
    ))
}

/// Whether the process is draining: set when shutdown is requested, read by
/// the layer [`with_drain`] puts in front of the app.
#[derive(Debug, Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// `app` behind the drain: once `draining` is set, `/ready` answers 503
/// (load balancers and Kubernetes stop routing new requests here), and
/// every answer still given carries `Connection: close`, so a client on a
/// kept-alive connection opens its next one elsewhere instead of finding
/// it closed under a request when the listener stops.
pub fn with_drain(app: Router, draining: Draining) -> Router {
    app.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let draining = draining.clone();
            async move {
                if !draining.is_draining() {
                    return next.run(request).await;
                }
                let mut response = if request.uri().path() == "/ready" {
                    axum::response::IntoResponse::into_response((
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        "draining",
                    ))
                } else {
                    next.run(request).await
                };
                response.headers_mut().insert(
                    axum::http::header::CONNECTION,
                    axum::http::HeaderValue::from_static("close"),
                );
                response
            }
        },
    ))
}

/// Completes `drain_period` after `signal`: in between the process is
/// [`Draining`] but still accepts and serves. This is the `shutdown` a
/// subgraph's [`serve`] is given, so that after it the listener closes
/// and in-flight requests finish.
pub async fn drain_then_stop(
    signal: impl Future<Output = ()>,
    draining: Draining,
    drain_period: Duration,
) {
    signal.await;
    draining.start();
    tracing::info!(
        ?drain_period,
        "shutdown requested: draining (readiness 503, connections closed after each answer)"
    );
    tokio::time::sleep(drain_period).await;
}

/// Serves `app` until `shutdown` completes, then stops accepting and lets
/// in-flight requests finish for up to `grace_period`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace_period: Duration,
) -> Result<(), KitError> {
    serve_with_timeouts(
        listener,
        app,
        shutdown,
        grace_period,
        ConnectionTimeouts::default(),
    )
    .await
}

/// How long a client may take to send a request's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionTimeouts {
    /// From the connection's start (or the previous response) to the end of
    /// the request's headers.
    pub header_read: Duration,
    /// To receive the whole body once the headers are in.
    pub body_read: Duration,
}

impl Default for ConnectionTimeouts {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(10),
        }
    }
}

/// [`serve`] with explicit connection timeouts (tests use short ones).
pub async fn serve_with_timeouts(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace_period: Duration,
    timeouts: ConnectionTimeouts,
) -> Result<(), KitError> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;

    // A client that opens a connection and then sends its headers or body
    // a byte at a time holds a task and a socket for as long as it likes;
    // these bound both.
    let app = app.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        timeouts.body_read,
    ));
    let mut connections = Builder::new(TokioExecutor::new());
    connections
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    let in_flight = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(error) => {
                        // Out of file descriptors, say: back off briefly
                        // instead of spinning on the error.
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let service = TowerToHyperService::new(app.clone());
                let connection = connections
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .into_owned();
                let connection = in_flight.watch(connection);
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "a connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("shutdown requested; finishing in-flight requests");
    if tokio::time::timeout(grace_period, in_flight.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?grace_period,
            "in-flight requests did not finish in time; stopping anyway"
        );
    }
    Ok(())
}

/// Completes on SIGTERM (how orchestrators stop a process) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// Binds `address` with SO_REUSEPORT, so that other replicas of the same
/// subgraph on this host can bind it too and the kernel spreads incoming
/// connections across them (`LISTEN_REUSE_PORT=true`). Every replica must
/// set it; a plain listener on the port refuses the others.
pub fn bind_shared(address: SocketAddr) -> Result<TcpListener, KitError> {
    let bind_error = |source| KitError::Bind { address, source };
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .map_err(bind_error)?;
    socket.set_reuseaddr(true).map_err(bind_error)?;
    socket.set_reuseport(true).map_err(bind_error)?;
    socket.bind(address).map_err(bind_error)?;
    socket.listen(1024).map_err(bind_error)
}

/// Binds `address`, mapping the error to one that names it.
pub async fn bind(address: SocketAddr) -> Result<TcpListener, KitError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| KitError::Bind { address, source })
}
