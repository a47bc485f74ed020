//! The deployment files against the code: `docker-compose.yml`, the
//! `Dockerfile`, `otel/collector.yaml` and `deploy/k8s`. The Kubernetes
//! manifests are rendered with `kubectl kustomize` and validated against
//! the API's schemas; the compose stack runs for real in
//! `scripts/compose-smoke.sh`. Here each file is also parsed and every
//! fact that must agree with the code is checked: the subgraphs and their ports (from
//! `router/supergraph.yaml`), the router's URLs for them, the variables the
//! kit requires at start-up (by running the kit's own configuration reader
//! on each container's environment), health checks, start-up order and
//! pinned versions.

use std::collections::{BTreeMap, BTreeSet};

use schema_registry::SupergraphConfig;
use serde_yaml::Value;
use talentgraph_e2e::{ROUTER_VERSION, repository_root};
use talentgraph_kit::SubgraphConfig;
use talentgraph_kit::config::Environment;
use talentgraph_kit::telemetry::TraceExport;

/// Each subgraph with its port, from the supergraph's routing URLs.
fn subgraph_ports() -> Vec<(String, u16)> {
    let config = SupergraphConfig::load(&repository_root().join("router/supergraph.yaml"))
        .expect("router/supergraph.yaml loads");
    config
        .subgraphs
        .iter()
        .map(|subgraph| {
            let port = subgraph
                .routing_url
                .rsplit(':')
                .next()
                .and_then(|rest| rest.split('/').next())
                .and_then(|port| port.parse().ok())
                .unwrap_or_else(|| panic!("no port in {}", subgraph.routing_url));
            (subgraph.name.clone(), port)
        })
        .collect()
}

fn read_yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(repository_root().join(path))
        .unwrap_or_else(|error| panic!("cannot read {path}: {error}"));
    serde_yaml::from_str(&text).unwrap_or_else(|error| panic!("{path} is not YAML: {error}"))
}

fn read_yaml_documents(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(repository_root().join(path))
        .unwrap_or_else(|error| panic!("cannot read {path}: {error}"));
    serde_yaml::Deserializer::from_str(&text)
        .map(|document| {
            serde::Deserialize::deserialize(document)
                .unwrap_or_else(|error| panic!("{path} is not YAML: {error}"))
        })
        .collect()
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        other => panic!("expected a scalar, found {other:?}"),
    }
}

/// The router secret in the operator's `.env`.
const OPERATOR_ROUTER_SECRET: &str =
    "3f1c9a7be20d48f6a95c0e7d2b81f4a6c3e9d0b7a25f8e1c6d4b9a0f7e3c2d15";

/// What an operator's `.env` next to `docker-compose.yml` holds: the
/// variables compose requires (`${ROUTER_SHARED_SECRET:?...}`, the payment
/// provider's keys), and traces turned on as the observability profile
/// does.
const OPERATOR_ENVIRONMENT: &[(&str, &str)] = &[
    ("OTLP_ENDPOINT", "http://otel-collector:4318"),
    ("ROUTER_OTLP_ENABLED", "true"),
    ("ROUTER_SHARED_SECRET", OPERATOR_ROUTER_SECRET),
    ("PAYMENT_PROVIDER_SECRET_KEY", "sk_test_operator"),
    // Not a `whsec_` literal: those are all published (payment's
    // PUBLISHED_WEBHOOK_SECRETS), and production refuses them.
    (
        "PAYMENT_WEBHOOK_SECRET",
        "operator-webhook-signing-secret-5c81e07a4d2f",
    ),
];

/// Resolves compose's interpolation with [`OPERATOR_ENVIRONMENT`] as the
/// host environment: `${VAR}`, `${VAR:-default}` and `${VAR:?message}`
/// (which compose refuses to start without). `None` when a required
/// variable is missing from `environment`.
fn interpolate_with(value: &str, environment: &[(&str, &str)]) -> Option<String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closed interpolation") + start;
        let inner = &rest[start + 2..end];
        let (name, fallback) = match inner.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => match inner.split_once(":?") {
                Some((name, _message)) => (name, None),
                None => (inner, Some("")),
            },
        };
        let set = environment
            .iter()
            .find(|(variable, _)| *variable == name)
            .map(|(_, value)| *value);
        out.push_str(set.or(fallback)?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out.replace("$$", "$"))
}

fn interpolate(value: &str) -> String {
    interpolate_with(value, OPERATOR_ENVIRONMENT)
        .unwrap_or_else(|| panic!("compose requires a variable the operator did not set: {value}"))
}

/// Compose has no default router secret: without one in the operator's
/// environment it refuses to start, rather than running production-mode
/// subgraphs with a secret anyone can read here.
#[test]
fn compose_requires_a_router_secret_of_the_operators() {
    let text = std::fs::read_to_string(repository_root().join("docker-compose.yml"))
        .expect("reads docker-compose.yml");
    let secret_line = text
        .lines()
        .find(|line| line.contains("&router-secret"))
        .expect("the router secret anchor");
    assert!(
        interpolate_with(secret_line, &[]).is_none(),
        "{secret_line}"
    );
    assert!(interpolate_with(secret_line, OPERATOR_ENVIRONMENT).is_some());
}

/// Compose runs the production profile, so its router admits browser
/// calls from production's origins only (the same default as
/// `router/router.yaml`), not from any page served on localhost.
#[test]
fn compose_router_allows_only_production_origins() {
    let compose = read_yaml("docker-compose.yml");
    let environment = compose_environment(&compose["services"]["router"]);
    let origins = &environment["ROUTER_CORS_ORIGINS"];
    let router_config = std::fs::read_to_string(repository_root().join("router/router.yaml"))
        .expect("reads router/router.yaml");
    assert!(
        router_config.contains(&format!(
            "ROUTER_CORS_ORIGINS:-{}",
            origins.replace('\\', "\\\\")
        )),
        "compose's default origins {origins:?} are not router.yaml's"
    );
    for refused in ["localhost", "127.0.0.1", "http://"] {
        assert!(!origins.contains(refused), "{origins:?} admits {refused}");
    }
}

/// The pods a network-policy rule admits by `app.kubernetes.io/name`: its
/// one source's `In` expression (the subgraphs, named one by one).
fn admitted_by_name(rule: &Value) -> BTreeSet<String> {
    let sources = rule["from"]
        .as_sequence()
        .expect("the rule names its sources");
    assert_eq!(sources.len(), 1, "one source: {rule:?}");
    let expression = &sources[0]["podSelector"]["matchExpressions"][0];
    assert_eq!(expression["key"], "app.kubernetes.io/name");
    assert_eq!(expression["operator"], "In");
    expression["values"]
        .as_sequence()
        .expect("the admitted names")
        .iter()
        .map(text)
        .collect()
}

/// The client address the limits key on comes from the edge, not the
/// client: compose's HAProxy replaces `X-Forwarded-For` with the
/// connection's source and forwards to the router, which trusts exactly
/// that one hop; Kubernetes trusts the one ingress hop in front.
#[test]
fn both_deployments_vouch_for_the_client_address() {
    let compose = read_yaml("docker-compose.yml");
    let services = &compose["services"];
    assert_eq!(
        compose_environment(&services["router"])["ROUTER_TRUSTED_PROXY_HOPS"],
        "1"
    );
    let edge = &services["edge"];
    assert_eq!(
        edge["depends_on"]["router"]["condition"], "service_healthy",
        "the edge starts once the router is healthy"
    );
    let volumes: Vec<String> = edge["volumes"]
        .as_sequence()
        .expect("the edge mounts its configuration")
        .iter()
        .map(text)
        .collect();
    let configuration = volumes
        .iter()
        .find_map(|volume| volume.strip_prefix("./"))
        .and_then(|volume| volume.split(':').next())
        .expect("a configuration file from the repository");
    let configuration =
        std::fs::read_to_string(repository_root().join(configuration)).expect("reads it");
    let lines: Vec<&str> = configuration.lines().map(str::trim).collect();
    assert!(
        lines.contains(&"http-request set-header X-Forwarded-For %[src]"),
        "the edge replaces X-Forwarded-For with the connection's source"
    );
    assert!(lines.contains(&"server router router:4000"));
    assert!(lines.contains(&"bind :4000"));
    let router_documents = read_yaml_documents("deploy/k8s/router.yaml");
    let router = kind(&router_documents, "Deployment", "router");
    let hops = router["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_sequence()
        .expect("router env")
        .iter()
        .find(|entry| entry["name"] == "ROUTER_TRUSTED_PROXY_HOPS")
        .map(|entry| text(&entry["value"]));
    assert_eq!(hops.as_deref(), Some("1"));
}

/// The ports a subgraph serves its public paths on (`PUBLIC_LISTEN_ADDR`):
/// auth's key set, for the other subgraphs, and payment's provider webhook,
/// for the provider. Nothing but those paths is served there.
const PUBLIC_PORTS: [(&str, u16); 2] = [("auth", 4012), ("payment", 4015)];

fn public_port_of(name: &str) -> Option<u16> {
    PUBLIC_PORTS
        .iter()
        .find(|(subgraph, _)| *subgraph == name)
        .map(|(_, port)| *port)
}

/// Only the edge in front of the router and payment's webhook listener are
/// published on every interface; the router, the subgraphs' GraphQL ports, PostgreSQL,
/// the collector and the registry are reachable on the compose network (or
/// the host's loopback) only, so nobody outside can send a subgraph a
/// forged entity representation, and the provider reaches the webhook
/// without reaching payment's `/graphql`.
#[test]
fn compose_publishes_only_the_edge_and_the_webhook() {
    let compose = read_yaml("docker-compose.yml");
    let mut published = Vec::new();
    for (name, service) in compose["services"].as_mapping().expect("services") {
        for port in service["ports"].as_sequence().into_iter().flatten() {
            let port = interpolate(&text(port));
            if !port.starts_with("127.0.0.1:") {
                published.push(format!("{}: {port}", text(name)));
            }
        }
    }
    published.sort();
    assert_eq!(
        published,
        vec![
            "edge: 4000:4000".to_owned(),
            "payment: 4015:4015".to_owned()
        ]
    );
    for (name, port) in subgraph_ports() {
        let service = &compose["services"][name.as_str()];
        let public_port = public_port_of(&name);
        let environment = compose_environment(service);
        assert_eq!(
            environment.get("PUBLIC_LISTEN_ADDR").cloned(),
            public_port.map(|port| format!("0.0.0.0:{port}")),
            "{name}'s public listener"
        );
        if name != "payment" {
            assert!(service["ports"].is_null(), "{name} publishes no port");
        }
        let exposed: Vec<String> = service["expose"]
            .as_sequence()
            .expect("the subgraph exposes its port to the network")
            .iter()
            .map(text)
            .collect();
        let mut expected = vec![port.to_string()];
        if name == "auth" {
            expected.extend(public_port.map(|port| port.to_string()));
        }
        assert_eq!(exposed, expected, "{name}");
    }
}

fn compose_environment(service: &Value) -> BTreeMap<String, String> {
    service["environment"]
        .as_mapping()
        .map(|mapping| {
            mapping
                .iter()
                .map(|(key, value)| (text(key), interpolate(&text(value))))
                .collect()
        })
        .unwrap_or_default()
}

/// Every subgraph is a compose service that would start: its environment
/// passes the kit's own configuration check in production, its port is the
/// one the supergraph routes to, its health check asks `/ready`, it exports
/// traces to the collector, and it starts after PostgreSQL is healthy and
/// the migrations succeeded.
#[test]
fn compose_runs_every_subgraph_as_the_code_expects() {
    let compose = read_yaml("docker-compose.yml");
    let services = &compose["services"];
    for (name, port) in subgraph_ports() {
        let service = &services[name.as_str()];
        assert!(service.is_mapping(), "service {name} is missing");
        let environment = compose_environment(service);
        let config =
            SubgraphConfig::from_lookup(port, |variable| environment.get(variable).cloned())
                .unwrap_or_else(|error| panic!("{name} would not start: {error}"));
        assert_eq!(config.environment, Environment::Production, "{name}");
        assert_eq!(
            config.metrics_listen_address.map(|address| address.port()),
            Some(9464),
            "{name} serves /metrics apart from /graphql"
        );
        assert_eq!(
            config.listen_address.port(),
            port,
            "{name} listens where the router routes"
        );
        assert!(
            config
                .database_url
                .ends_with(&format!("/talentgraph_{name}")),
            "{name} has its own database"
        );
        assert_eq!(
            config.tokens.jwks_url,
            format!(
                "http://auth:{}/.well-known/jwks.json",
                public_port_of("auth").expect("auth's public port")
            ),
            "{name} fetches the key set from auth's public listener"
        );
        assert_eq!(
            config.public_listen_address.map(|address| address.port()),
            public_port_of(&name),
            "{name}"
        );
        let export =
            TraceExport::from_lookup("unused", |variable| environment.get(variable).cloned())
                .unwrap_or_else(|| panic!("{name} exports traces"));
        assert_eq!(
            export.traces_endpoint,
            "http://otel-collector:4318/v1/traces"
        );
        assert_eq!(export.service_name, format!("talentgraph-{name}"));

        let check: Vec<String> = service["healthcheck"]["test"]
            .as_sequence()
            .expect("a health check")
            .iter()
            .map(text)
            .collect();
        assert!(
            check
                .iter()
                .any(|part| part == &format!("http://127.0.0.1:{port}/ready")),
            "{name} health check: {check:?}"
        );
        assert_eq!(
            service["command"][0],
            Value::String(format!("talentgraph-{name}"))
        );
        assert_eq!(
            service["depends_on"]["postgres"]["condition"],
            "service_healthy"
        );
        assert_eq!(
            service["depends_on"]["migrate"]["condition"],
            "service_completed_successfully"
        );
    }
}

/// The router is the pinned version with the committed configuration and
/// supergraph, reaches each subgraph at its service name and port, shares
/// the subgraphs' secret, exports traces to the collector, and starts
/// after every subgraph is healthy; the migrations cover every subgraph.
#[test]
fn compose_router_collector_and_migrations_agree_with_the_code() {
    let compose = read_yaml("docker-compose.yml");
    let services = &compose["services"];
    let router = &services["router"];
    assert_eq!(
        interpolate(&text(&router["image"])),
        format!("ghcr.io/apollographql/router:v{ROUTER_VERSION}")
    );
    let volumes: Vec<String> = router["volumes"]
        .as_sequence()
        .expect("volumes")
        .iter()
        .map(text)
        .collect();
    for file in [
        "router/router.yaml",
        "router/supergraph.graphql",
        "router/rhai",
    ] {
        assert!(
            volumes
                .iter()
                .any(|volume| volume.starts_with(&format!("./{file}:"))),
            "{file} mounted"
        );
        assert!(repository_root().join(file).exists());
    }
    let environment = compose_environment(router);
    let core_secret = compose_environment(&services["core"])["ROUTER_SHARED_SECRET"].clone();
    assert_eq!(environment["ROUTER_SHARED_SECRET"], core_secret);
    assert_eq!(core_secret, OPERATOR_ROUTER_SECRET);
    assert_eq!(environment["ROUTER_RHAI_SCRIPTS"], "/config/rhai");
    assert_eq!(environment["ROUTER_OTLP_ENABLED"], "true");
    assert_eq!(
        environment["ROUTER_OTLP_ENDPOINT"],
        "http://otel-collector:4318"
    );
    let migrate = text(&services["migrate"]["command"][2]);
    for (name, port) in subgraph_ports() {
        assert_eq!(
            environment[&format!("SUBGRAPH_{}_URL", name.to_uppercase())],
            format!("http://{name}:{port}/graphql")
        );
        assert_eq!(
            router["depends_on"][name.as_str()]["condition"],
            "service_healthy"
        );
        assert!(
            migrate.contains(&format!("/talentgraph_{name} talentgraph-{name} migrate")),
            "{migrate}"
        );
    }
    // Every dependency names a service.
    for (name, service) in services.as_mapping().expect("services") {
        if let Some(dependencies) = service["depends_on"].as_mapping() {
            for (dependency, condition) in dependencies {
                assert!(
                    services[text(dependency).as_str()].is_mapping(),
                    "{name:?} → {dependency:?}"
                );
                assert!(
                    condition["condition"].is_string(),
                    "{name:?} → {dependency:?} has a condition"
                );
            }
        }
    }
    let collector = &services["otel-collector"];
    let collector_ports: Vec<String> = collector["expose"]
        .as_sequence()
        .expect("exposed ports")
        .iter()
        .map(text)
        .collect();
    assert!(collector_ports.contains(&"4318".to_owned()));
    assert!(services["jaeger"].is_mapping());
    assert_eq!(
        services["migrate"]["depends_on"]["postgres"]["condition"],
        "service_healthy"
    );
}

/// The collector receives OTLP on 4317 and 4318, limits memory first and
/// batches last, and exports traces to Jaeger (a compose service) and to
/// its debug log.
#[test]
fn collector_pipeline_is_complete() {
    let collector = read_yaml("otel/collector.yaml");
    assert_eq!(
        collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"],
        "0.0.0.0:4318"
    );
    assert_eq!(
        collector["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"],
        "0.0.0.0:4317"
    );
    let pipeline = &collector["service"]["pipelines"]["traces"];
    let processors: Vec<String> = pipeline["processors"]
        .as_sequence()
        .expect("processors")
        .iter()
        .map(text)
        .collect();
    assert_eq!(
        processors.first().map(String::as_str),
        Some("memory_limiter")
    );
    assert_eq!(processors.last().map(String::as_str), Some("batch"));
    for processor in &processors {
        assert!(
            collector["processors"][processor.as_str()].is_mapping(),
            "{processor} configured"
        );
    }
    let exporters: Vec<String> = pipeline["exporters"]
        .as_sequence()
        .expect("exporters")
        .iter()
        .map(text)
        .collect();
    assert!(exporters.contains(&"debug".to_owned()));
    let jaeger = exporters
        .iter()
        .find(|exporter| exporter.starts_with("otlp"))
        .expect("an OTLP exporter");
    let endpoint = text(&collector["exporters"][jaeger.as_str()]["endpoint"]);
    let host = endpoint.split(':').next().expect("a host");
    let compose = read_yaml("docker-compose.yml");
    assert!(
        compose["services"][host].is_mapping(),
        "{host} is a compose service"
    );
    let mounts: Vec<String> = compose["services"]["otel-collector"]["volumes"]
        .as_sequence()
        .expect("volumes")
        .iter()
        .map(text)
        .collect();
    assert!(
        mounts
            .iter()
            .any(|mount| mount.starts_with("./otel/collector.yaml:"))
    );
}

/// The Dockerfile builds every subgraph binary in a build stage and ships
/// them in a slim runtime stage as a non-root user.
#[test]
fn dockerfile_builds_every_subgraph() {
    let dockerfile =
        std::fs::read_to_string(repository_root().join("Dockerfile")).expect("Dockerfile");
    assert!(
        dockerfile.matches("\nFROM ").count() + usize::from(dockerfile.starts_with("FROM ")) >= 2,
        "multi-stage"
    );
    assert!(dockerfile.contains("cargo build --release --locked"));
    for (name, port) in subgraph_ports() {
        assert!(
            dockerfile.contains(&format!("-p talentgraph-{name}")),
            "builds {name}"
        );
        assert!(
            dockerfile.contains(&format!("target/release/talentgraph-{name}")),
            "copies {name}"
        );
        assert!(dockerfile.contains(&port.to_string()), "exposes {port}");
    }
    assert!(dockerfile.contains("USER 10001"));
    assert!(
        dockerfile.contains("--bin schema-registry")
            && dockerfile.contains("target/release/schema-registry")
    );
}

/// The registry runs on the port table's port with a database the PostgreSQL
/// container creates, and writes its supergraph into a named volume.
#[test]
fn compose_runs_the_schema_registry() {
    let compose = read_yaml("docker-compose.yml");
    let registry = &compose["services"]["schema-registry"];
    let environment = compose_environment(registry);
    assert_eq!(environment["LISTEN_ADDR"], "0.0.0.0:4100");
    let config = schema_registry::server::RegistryConfig::from_lookup(|name| {
        environment
            .get(name)
            .cloned()
            .filter(|_| name != "REGISTRY_SUPERGRAPH_PATH")
    })
    .expect("the registry accepts its compose environment");
    assert_eq!(config.listen_addr.port(), 4100);
    let database = environment["DATABASE_URL"]
        .rsplit('/')
        .next()
        .expect("a database name")
        .to_owned();
    let created =
        std::fs::read_to_string(repository_root().join("deploy/compose/create-databases.sql"))
            .expect("create-databases.sql");
    assert!(
        created.contains(&format!("CREATE DATABASE {database};")),
        "{database}"
    );
    let path = &environment["REGISTRY_SUPERGRAPH_PATH"];
    let mounted = registry["volumes"]
        .as_sequence()
        .expect("volumes")
        .iter()
        .map(text)
        .any(|volume| {
            let (source, target) = volume.split_once(':').unwrap_or_default();
            compose["volumes"].get(source).is_some() && path.starts_with(target)
        });
    assert!(mounted, "the supergraph file is on a named volume");
    assert_eq!(
        registry["depends_on"]["postgres"]["condition"],
        "service_healthy"
    );
    assert_eq!(
        interpolate(&text(&registry["ports"][0])),
        "127.0.0.1:4100:4100"
    );
}

fn kind<'a>(documents: &'a [Value], kind: &str, name: &str) -> &'a Value {
    documents
        .iter()
        .find(|document| document["kind"] == kind && document["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// Kubernetes: every subgraph is a Deployment with replicas, readiness and
/// liveness probes on `/ready` and `/health` at its port, resource
/// requests, a migration init container and an environment the kit accepts
/// in production; a Service exposes the same port; the router's Deployment
/// reaches the subgraphs through those Services and a HorizontalPodAutoscaler
/// scales it; the kustomization lists every file.
#[test]
fn kubernetes_manifests_agree_with_the_code() {
    let config_map = read_yaml("deploy/k8s/config.yaml");
    let shared: BTreeMap<String, String> = config_map["data"]
        .as_mapping()
        .expect("config data")
        .iter()
        .map(|(key, value)| (text(key), text(value)))
        .collect();
    let kustomization = read_yaml("deploy/k8s/kustomization.yaml");
    let resources: Vec<String> = kustomization["resources"]
        .as_sequence()
        .expect("resources")
        .iter()
        .map(text)
        .collect();
    let router_documents = read_yaml_documents("deploy/k8s/router.yaml");
    let router = kind(&router_documents, "Deployment", "router");
    // The router has no drain of its own: it sleeps before SIGTERM while
    // Kubernetes takes it out of the endpoints, and a budget keeps one.
    assert_eq!(
        router["spec"]["template"]["spec"]["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
            [0],
        "sleep"
    );
    assert_eq!(
        kind(&router_documents, "PodDisruptionBudget", "router")["spec"]["minAvailable"].as_u64(),
        Some(1)
    );
    let router_container = &router["spec"]["template"]["spec"]["containers"][0];
    let router_environment: BTreeMap<String, Value> = router_container["env"]
        .as_sequence()
        .expect("router env")
        .iter()
        .map(|entry| (text(&entry["name"]), entry.clone()))
        .collect();
    for (name, port) in subgraph_ports() {
        let file = format!("subgraphs/{name}.yaml");
        assert!(resources.contains(&file), "kustomization lists {file}");
        let documents = read_yaml_documents(&format!("deploy/k8s/{file}"));
        let deployment = kind(&documents, "Deployment", &name);
        assert!(
            deployment["spec"]["replicas"].as_u64().unwrap_or(0) >= 2,
            "{name} replicas"
        );
        let pod = &deployment["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        assert_eq!(
            container["ports"][0]["containerPort"].as_u64(),
            Some(u64::from(port))
        );
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/ready");
        assert_eq!(
            container["readinessProbe"]["httpGet"]["port"].as_u64(),
            Some(u64::from(port))
        );
        // The drain: the pod leaves every balancer within its drain, and
        // Kubernetes waits for the drain and the grace before SIGKILL.
        let seconds = |name: &str| -> u64 {
            shared[name]
                .parse()
                .unwrap_or_else(|_| panic!("{name} is a number"))
        };
        let (drain, grace) = (
            seconds("SHUTDOWN_DRAIN_SECONDS"),
            seconds("SHUTDOWN_GRACE_SECONDS"),
        );
        let probe = &container["readinessProbe"];
        assert!(
            probe["periodSeconds"].as_u64().unwrap_or(10)
                * probe["failureThreshold"].as_u64().unwrap_or(3)
                < drain,
            "{name}'s readiness notices the drain within it"
        );
        assert!(
            pod["terminationGracePeriodSeconds"].as_u64().unwrap_or(30) > drain + grace,
            "{name}'s grace period covers the drain and the in-flight requests"
        );
        let budget = kind(&documents, "PodDisruptionBudget", &name);
        assert_eq!(budget["spec"]["minAvailable"].as_u64(), Some(1));
        assert_eq!(
            budget["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"],
            Value::String(name.clone())
        );
        assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/health");
        assert_eq!(
            container["livenessProbe"]["httpGet"]["port"].as_u64(),
            Some(u64::from(port))
        );
        assert!(
            container["resources"]["requests"]["cpu"].is_string(),
            "{name} cpu request"
        );
        assert!(
            container["resources"]["requests"]["memory"].is_string(),
            "{name} memory request"
        );
        assert_eq!(pod["initContainers"][0]["args"][0], "migrate");
        assert_eq!(
            pod["initContainers"][0]["command"][0],
            Value::String(format!("talentgraph-{name}"))
        );
        // The container's environment: the shared ConfigMap, its own
        // values, and a placeholder for each secret reference.
        let mut environment = shared.clone();
        for entry in container["env"].as_sequence().expect("env") {
            let value = if entry["valueFrom"]["secretKeyRef"].is_mapping() {
                match text(&entry["name"]).as_str() {
                    "DATABASE_URL" => format!("postgres://user:secret@db:5432/talentgraph_{name}"),
                    _ => OPERATOR_ROUTER_SECRET.to_owned(),
                }
            } else {
                text(&entry["value"])
            };
            environment.insert(text(&entry["name"]), value);
        }
        let config =
            SubgraphConfig::from_lookup(port, |variable| environment.get(variable).cloned())
                .unwrap_or_else(|error| panic!("{name} would not start: {error}"));
        assert_eq!(config.environment, Environment::Production);
        assert_eq!(config.listen_address.port(), port);
        assert_eq!(
            config
                .metrics_listen_address
                .map(|address| address.to_string()),
            Some("0.0.0.0:9464".to_owned())
        );
        assert_eq!(
            deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"],
            "9464"
        );
        assert!(config.router_secret.is_some());
        let service = kind(&documents, "Service", &name);
        assert_eq!(
            service["spec"]["ports"][0]["port"].as_u64(),
            Some(u64::from(port))
        );
        // Auth's key set and payment's webhook on their own listener, with
        // a Service port of their own that the network policies open to
        // their callers alone.
        assert_eq!(
            config
                .public_listen_address
                .map(|address| address.to_string()),
            public_port_of(&name).map(|public| format!("0.0.0.0:{public}")),
            "{name}'s public listener"
        );
        if let Some(public) = public_port_of(&name) {
            let service_ports: Vec<u64> = service["spec"]["ports"]
                .as_sequence()
                .expect("service ports")
                .iter()
                .filter_map(|entry| entry["port"].as_u64())
                .collect();
            assert!(
                service_ports.contains(&u64::from(public)),
                "{name}'s Service has its public port"
            );
        }
        assert_eq!(
            service["spec"]["selector"]["app.kubernetes.io/name"],
            deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]
        );
        let url =
            text(&router_environment[&format!("SUBGRAPH_{}_URL", name.to_uppercase())]["value"]);
        assert_eq!(
            url,
            format!("http://{name}.talentgraph.svc.cluster.local:{port}/graphql")
        );
    }
    let auth_port = public_port_of("auth").expect("auth's public port");
    assert_eq!(
        shared["AUTH_JWKS_URL"],
        format!("http://auth.talentgraph.svc.cluster.local:{auth_port}/.well-known/jwks.json")
    );
    assert_eq!(
        router_container["image"],
        Value::String(format!("ghcr.io/apollographql/router:v{ROUTER_VERSION}"))
    );
    assert!(router["spec"]["replicas"].as_u64().unwrap_or(0) >= 2);
    assert_eq!(
        router_container["readinessProbe"]["httpGet"]["port"].as_u64(),
        Some(8088)
    );
    assert_eq!(
        router_container["livenessProbe"]["httpGet"]["port"].as_u64(),
        Some(8088)
    );
    assert!(router_container["resources"]["requests"]["cpu"].is_string());
    assert!(router_environment["ROUTER_SHARED_SECRET"]["valueFrom"]["secretKeyRef"].is_mapping());
    let autoscaler = kind(&router_documents, "HorizontalPodAutoscaler", "router");
    assert_eq!(autoscaler["spec"]["scaleTargetRef"]["kind"], "Deployment");
    assert_eq!(autoscaler["spec"]["scaleTargetRef"]["name"], "router");
    let minimum = autoscaler["spec"]["minReplicas"].as_u64().unwrap_or(0);
    assert!(minimum >= 2 && autoscaler["spec"]["maxReplicas"].as_u64().unwrap_or(0) > minimum);
    assert!(resources.contains(&"router.yaml".to_owned()));
    assert_eq!(
        text(&router_environment["ROUTER_RHAI_SCRIPTS"]["value"]),
        "/rhai"
    );
    // The router's ConfigMaps come from router/, which generates them
    // from the committed files themselves.
    assert!(resources.contains(&"../../router".to_owned()));
    let router_kustomization = read_yaml("router/kustomization.yaml");
    for generator in router_kustomization["configMapGenerator"]
        .as_sequence()
        .expect("generators")
    {
        for file in generator["files"].as_sequence().expect("files") {
            let source = text(file);
            let path = source
                .split_once('=')
                .map_or(source.as_str(), |(_, path)| path);
            assert!(
                repository_root().join("router").join(path).exists(),
                "router/{path} exists"
            );
        }
    }
}

/// The Kubernetes version the manifests are validated against.
const KUBERNETES_VERSION: &str = "1.34";

/// `kubernetes-validate`: `TALENTGRAPH_KUBERNETES_VALIDATE`, or where
/// `scripts/install-kubernetes-validate.sh` installs it.
fn kubernetes_validate() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("TALENTGRAPH_KUBERNETES_VALIDATE") {
        return path.into();
    }
    let tools = std::env::var("TALENTGRAPH_TOOLS_DIR").map_or_else(
        |_| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".to_owned()))
                .join(".cache/talentgraph")
        },
        std::path::PathBuf::from,
    );
    let binary = tools.join("kubernetes-validate-1.37.0/bin/kubernetes-validate");
    assert!(
        binary.exists(),
        "{} is missing: run scripts/install-kubernetes-validate.sh",
        binary.display()
    );
    binary
}

/// Runs `kubernetes-validate` (strict: unknown fields are errors) on
/// `manifests`; its report on failure.
fn validate_manifests(manifests: &str) -> Result<(), String> {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().join("rendered.yaml");
    std::fs::write(&path, manifests).expect("writes the rendered manifests");
    let output = std::process::Command::new(kubernetes_validate())
        .args([
            "--strict",
            "--quiet",
            "--kubernetes-version",
            KUBERNETES_VERSION,
        ])
        .arg(&path)
        .output()
        .expect("kubernetes-validate runs");
    if output.status.success() {
        Ok(())
    } else {
        // Its first lines name each object that failed; the rest is a
        // Python traceback of the last one.
        let report = String::from_utf8_lossy(&output.stdout);
        Err(report
            .lines()
            .filter(|line| line.starts_with("ERROR"))
            .collect::<Vec<_>>()
            .join("\n"))
    }
}

/// Kubernetes, as users run it: `kubectl kustomize deploy/k8s` renders
/// without flags (so `kubectl apply -k deploy/k8s` works), and every
/// rendered object is valid against the Kubernetes API's schemas. The
/// validator itself must refuse a broken copy, or its pass proves nothing.
#[test]
fn kubernetes_manifests_render_and_validate() {
    let kubectl = std::env::var("TALENTGRAPH_KUBECTL").unwrap_or_else(|_| "kubectl".to_owned());
    let rendered = std::process::Command::new(&kubectl)
        .arg("kustomize")
        .arg(repository_root().join("deploy/k8s"))
        .output()
        .unwrap_or_else(|error| {
            panic!("{kubectl} kustomize runs (is kubectl installed?): {error}")
        });
    assert!(
        rendered.status.success(),
        "kubectl kustomize deploy/k8s failed: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let manifests = String::from_utf8(rendered.stdout).expect("UTF-8 manifests");
    let objects: Vec<Value> = serde_yaml::Deserializer::from_str(&manifests)
        .map(|document| serde::Deserialize::deserialize(document).expect("a YAML object"))
        .collect();
    let count = |wanted: &str| {
        objects
            .iter()
            .filter(|object| object["kind"] == wanted)
            .count()
    };
    let subgraphs = subgraph_ports().len();
    // Six subgraphs, the router and Redis (one replica, no budget: its
    // windows are rebuilt by use); NATS is a StatefulSet.
    assert_eq!(count("Deployment"), subgraphs + 2);
    assert_eq!(count("PodDisruptionBudget"), subgraphs + 1);
    assert!(
        count("ConfigMap") >= 4,
        "the shared config and the router's three"
    );
    for object in &objects {
        if object["kind"] != "Namespace" {
            assert_eq!(
                object["metadata"]["namespace"],
                "talentgraph",
                "{} {} is in the namespace",
                text(&object["kind"]),
                text(&object["metadata"]["name"])
            );
        }
    }
    validate_manifests(&manifests).unwrap_or_else(|report| {
        panic!("the rendered manifests are not valid Kubernetes {KUBERNETES_VERSION}:\n{report}")
    });
    let broken = manifests.replacen("readinessProbe:", "readinessProbes:", 1);
    assert!(
        validate_manifests(&broken).is_err(),
        "kubernetes-validate passed an object with an unknown field"
    );
}

/// Kubernetes: ingress in the namespace is denied by default; the router
/// takes traffic from anywhere on its GraphQL port only; each subgraph's
/// GraphQL port only from the router (and monitoring its metrics); auth's
/// key set listener from the subgraphs; payment's webhook listener from
/// anywhere. No other policy opens a subgraph.
#[test]
fn kubernetes_network_policies_let_only_the_router_reach_subgraphs() {
    let kustomization = read_yaml("deploy/k8s/kustomization.yaml");
    assert!(
        kustomization["resources"]
            .as_sequence()
            .expect("resources")
            .contains(&Value::String("network-policy.yaml".to_owned()))
    );
    let policies = read_yaml_documents("deploy/k8s/network-policy.yaml");
    let deny = kind(&policies, "NetworkPolicy", "default-deny-ingress");
    assert!(
        deny["spec"]["podSelector"]
            .as_mapping()
            .is_some_and(|selector| selector.is_empty())
    );
    assert!(deny["spec"]["ingress"].is_null(), "denies every ingress");
    let router = kind(&policies, "NetworkPolicy", "router-ingress");
    let open_rule = router["spec"]["ingress"]
        .as_sequence()
        .expect("router rules")
        .iter()
        .find(|rule| rule["from"].is_null())
        .expect("a rule open to everyone");
    assert_eq!(open_rule["ports"].as_sequence().map(Vec::len), Some(1));
    assert_eq!(open_rule["ports"][0]["port"].as_u64(), Some(4000));
    for (name, port) in subgraph_ports() {
        let policy = kind(&policies, "NetworkPolicy", &format!("{name}-ingress"));
        assert_eq!(
            policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
            name.as_str()
        );
        for rule in policy["spec"]["ingress"].as_sequence().expect("rules") {
            let ports: Vec<u64> = rule["ports"]
                .as_sequence()
                .expect("ports")
                .iter()
                .filter_map(|entry| entry["port"].as_u64())
                .collect();
            let public_port = public_port_of(&name).map(u64::from);
            if rule["from"].is_null() {
                // Open to every source: only the provider's webhook, whose
                // listener serves nothing else (the provider's addresses
                // change; its signature is what authenticates it).
                assert_eq!(name, "payment", "{name} opens a port to everyone");
                assert_eq!(ports, vec![public_port.expect("the webhook's port")]);
                continue;
            }
            for source in rule["from"].as_sequence().expect("sources") {
                let pod = &source["podSelector"];
                let namespace =
                    &source["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"];
                if *namespace == "monitoring" {
                    assert_eq!(
                        ports,
                        vec![9464],
                        "{name}: monitoring reaches only /metrics"
                    );
                    continue;
                }
                if ports == vec![u64::from(port)] {
                    assert_eq!(
                        pod["matchLabels"]["app.kubernetes.io/name"], "router",
                        "{name}'s GraphQL port admits only the router, not {source:?}"
                    );
                    continue;
                }
                // Auth's key set: the subgraphs, named one by one (not
                // every pod of the platform: the router, NATS and Redis
                // have no business there).
                assert_eq!(name, "auth", "{name} admits {source:?} on {ports:?}");
                assert_eq!(ports, vec![public_port.expect("auth's public port")]);
                let subgraphs: BTreeSet<String> =
                    subgraph_ports().into_iter().map(|(name, _)| name).collect();
                assert_eq!(admitted_by_name(rule), subgraphs);
            }
        }
    }
    // No policy but the router's opens anything to every source.
    for policy in &policies {
        for rule in policy["spec"]["ingress"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            if rule["from"].is_null() {
                assert!(
                    ["router-ingress", "payment-ingress"]
                        .contains(&text(&policy["metadata"]["name"]).as_str()),
                    "{:?} opens a port to everyone",
                    policy["metadata"]["name"]
                );
            }
        }
    }
}

/// The event bus in both deployments: compose runs NATS with JetStream on a
/// volume, unpublished, and every subgraph reaches it and waits for it;
/// Kubernetes runs a three-node JetStream cluster whose routes name each
/// pod, and the subgraphs' shared settings point at its Service with three
/// stream replicas.
#[test]
fn both_deployments_run_the_event_bus() {
    let compose = read_yaml("docker-compose.yml");
    let nats = &compose["services"]["nats"];
    let command: Vec<String> = nats["command"]
        .as_sequence()
        .expect("a command")
        .iter()
        .map(text)
        .collect();
    assert!(
        command.contains(&"-js".to_owned()),
        "JetStream on: {command:?}"
    );
    let store = command
        .iter()
        .position(|argument| argument == "-sd")
        .map(|index| command[index + 1].clone())
        .expect("a store directory");
    let volumes: Vec<String> = nats["volumes"]
        .as_sequence()
        .expect("volumes")
        .iter()
        .map(text)
        .collect();
    assert!(
        volumes
            .iter()
            .any(|volume| volume.ends_with(&format!(":{store}"))
                && compose["volumes"]
                    .get(volume.split(':').next().unwrap_or_default())
                    .is_some()),
        "the store is on a named volume: {volumes:?}"
    );
    assert!(nats["ports"].is_null(), "NATS is not published");
    assert!(nats["healthcheck"]["test"].is_sequence());
    for (name, _) in subgraph_ports() {
        let service = &compose["services"][name.as_str()];
        assert_eq!(
            compose_environment(service)["NATS_URL"],
            "nats://nats:4222",
            "{name}"
        );
        assert_eq!(
            service["depends_on"]["nats"]["condition"], "service_healthy",
            "{name}"
        );
    }

    let documents = read_yaml_documents("deploy/k8s/nats.yaml");
    let statefulset = kind(&documents, "StatefulSet", "nats");
    assert_eq!(statefulset["spec"]["replicas"].as_u64(), Some(3));
    assert_eq!(statefulset["spec"]["serviceName"], "nats-cluster");
    assert!(
        statefulset["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
            .is_string(),
        "file storage on a persistent volume"
    );
    let config = text(&kind(&documents, "ConfigMap", "nats-config")["data"]["nats.conf"]);
    assert!(config.contains("jetstream") && config.contains("store_dir: /data"));
    for pod in 0..3 {
        assert!(
            config.contains(&format!(
                "nats://nats-{pod}.nats-cluster.talentgraph.svc.cluster.local:6222"
            )),
            "route to nats-{pod}"
        );
    }
    assert_eq!(
        kind(&documents, "Service", "nats-cluster")["spec"]["clusterIP"],
        "None"
    );
    assert_eq!(
        kind(&documents, "Service", "nats")["spec"]["ports"][0]["port"].as_u64(),
        Some(4222)
    );
    let shared = read_yaml("deploy/k8s/config.yaml");
    assert_eq!(
        shared["data"]["NATS_URL"],
        "nats://nats.talentgraph.svc.cluster.local:4222"
    );
    assert_eq!(shared["data"]["NATS_STREAM_REPLICAS"], "3");
    let kustomization = read_yaml("deploy/k8s/kustomization.yaml");
    assert!(
        kustomization["resources"]
            .as_sequence()
            .expect("resources")
            .contains(&Value::String("nats.yaml".to_owned()))
    );
}

/// The rate limits' Redis in both deployments: unpublished in compose,
/// with no snapshot (its windows are rebuilt by use), every subgraph
/// pointed at it and waiting for it; in Kubernetes a Deployment and
/// Service the shared settings name, reachable from the subgraphs only.
#[test]
fn both_deployments_run_the_rate_limits_redis() {
    let compose = read_yaml("docker-compose.yml");
    let redis = &compose["services"]["redis"];
    let command: Vec<String> = redis["command"]
        .as_sequence()
        .expect("a command")
        .iter()
        .map(text)
        .collect();
    let save = command
        .iter()
        .position(|argument| argument == "--save")
        .map(|index| command[index + 1].clone());
    assert_eq!(save.as_deref(), Some(""), "no snapshots: {command:?}");
    assert!(redis["ports"].is_null(), "Redis is not published");
    assert!(redis["healthcheck"]["test"].is_sequence());
    for (name, _) in subgraph_ports() {
        let service = &compose["services"][name.as_str()];
        assert_eq!(
            compose_environment(service)["REDIS_URL"],
            "redis://redis:6379",
            "{name}"
        );
        assert_eq!(
            service["depends_on"]["redis"]["condition"], "service_healthy",
            "{name}"
        );
    }

    let documents = read_yaml_documents("deploy/k8s/redis.yaml");
    let deployment = kind(&documents, "Deployment", "redis");
    assert_eq!(deployment["spec"]["replicas"].as_u64(), Some(1));
    assert_eq!(
        kind(&documents, "Service", "redis")["spec"]["ports"][0]["port"].as_u64(),
        Some(6379)
    );
    let shared = read_yaml("deploy/k8s/config.yaml");
    assert_eq!(
        shared["data"]["REDIS_URL"],
        "redis://redis.talentgraph.svc.cluster.local:6379"
    );
    let policies = read_yaml_documents("deploy/k8s/network-policy.yaml");
    let policy = kind(&policies, "NetworkPolicy", "redis-ingress");
    let subgraphs: BTreeSet<String> = subgraph_ports().into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        admitted_by_name(&policy["spec"]["ingress"][0]),
        subgraphs,
        "only the subgraphs reach Redis"
    );
    // The same for the event bus: the router, which faces the internet,
    // cannot reach NATS.
    let policy = kind(&policies, "NetworkPolicy", "nats-ingress");
    let client_rule = policy["spec"]["ingress"]
        .as_sequence()
        .expect("rules")
        .iter()
        .find(|rule| rule["ports"][0]["port"].as_u64() == Some(4222))
        .expect("the client port's rule");
    assert_eq!(
        admitted_by_name(client_rule),
        subgraphs,
        "only the subgraphs reach NATS"
    );
}

/// Payment charges through the provider in both deployments, with the keys
/// from the operator (compose refuses to start without them) or the secret
/// store (the example secret names them), and its configuration parses.
#[test]
fn both_deployments_configure_the_payment_provider() {
    let compose: Value = serde_yaml::from_str(
        &std::fs::read_to_string(repository_root().join("docker-compose.yml"))
            .expect("reads docker-compose.yml"),
    )
    .expect("parses docker-compose.yml");
    let environment = compose_environment(&compose["services"]["payment"]);
    assert_eq!(
        environment.get("PAYMENT_PROVIDER_URL").map(String::as_str),
        Some("https://api.stripe.com")
    );
    assert_eq!(
        environment
            .get("PAYMENT_PROVIDER_SECRET_KEY")
            .map(String::as_str),
        Some("sk_test_operator")
    );
    let without_keys = std::fs::read_to_string(repository_root().join("docker-compose.yml"))
        .expect("reads docker-compose.yml");
    let key_line = without_keys
        .lines()
        .find(|line| line.contains("PAYMENT_PROVIDER_SECRET_KEY:"))
        .expect("the key line");
    assert!(interpolate_with(key_line, &[]).is_none(), "{key_line}");
    let lookup = |name: &str| environment.get(name).cloned();
    let config = talentgraph_payment::SUBGRAPH
        .config_from_lookup(lookup)
        .expect("payment's compose environment parses");
    let payment = config
        .domain
        .get::<talentgraph_payment::settings::PaymentSettings>()
        .expect("payment reads its own settings");
    assert!(payment.provider.is_some());
    assert!(payment.webhook_secret.is_some());

    let manifest =
        std::fs::read_to_string(repository_root().join("deploy/k8s/subgraphs/payment.yaml"))
            .expect("reads the payment manifest");
    let example =
        std::fs::read_to_string(repository_root().join("deploy/k8s/secrets.example.yaml"))
            .expect("reads the example secret");
    for key in ["PAYMENT_PROVIDER_SECRET_KEY", "PAYMENT_WEBHOOK_SECRET"] {
        assert!(manifest.contains(&format!("key: {key}")), "{key}");
        assert!(example.contains(&format!("{key}:")), "{key}");
    }
    assert!(manifest.contains("value: https://api.stripe.com"));
}
