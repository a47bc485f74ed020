//! Logs and traces.
//!
//! Logs: JSON lines in production (one object per event, with the fields of
//! every enclosing span, so each line carries the request's `trace_id`,
//! `span_id` and `request_id`), readable lines in development. `RUST_LOG`
//! overrides the default filter.
//!
//! Traces: OpenTelemetry spans exported over OTLP/HTTP, configured by the
//! standard variables (`OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_SDK_DISABLED`, `OTEL_TRACES_EXPORTER`).
//! Without an endpoint nothing is exported and no exporter thread runs. The
//! W3C trace-context propagator is installed either way, so a request's
//! `traceparent` always names its trace in the logs.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;
use crate::errors::KitError;

const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info";

/// Where spans go, read from the standard OpenTelemetry variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceExport {
    /// The full OTLP/HTTP traces URL (`…/v1/traces`).
    pub traces_endpoint: String,
    pub service_name: String,
}

impl TraceExport {
    /// `None` when export is off: no endpoint, `OTEL_SDK_DISABLED=true` or
    /// `OTEL_TRACES_EXPORTER=none`.
    pub fn from_lookup(
        default_service_name: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Option<Self> {
        let value = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        if value("OTEL_SDK_DISABLED").is_some_and(|flag| flag.eq_ignore_ascii_case("true"))
            || value("OTEL_TRACES_EXPORTER").is_some_and(|exporter| exporter == "none")
        {
            return None;
        }
        // The signal-specific variable is used as given; the general one is
        // a base URL to which the signal's path is appended (OTLP spec).
        let traces_endpoint = value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| {
            value(crate::config::Variable::OtelExporterOtlpEndpoint.name())
                .map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
        })?;
        Some(Self {
            traces_endpoint,
            service_name: value("OTEL_SERVICE_NAME")
                .unwrap_or_else(|| default_service_name.to_owned()),
        })
    }
}

/// Keeps the exporter alive; [`Telemetry::shutdown`] flushes what is left.
#[must_use = "dropping the guard does not flush spans; call shutdown at exit"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans buffered so far, waiting for the export.
    pub fn flush(&self) {
        if let Some(provider) = &self.provider
            && let Err(error) = provider.force_flush()
        {
            tracing::warn!(%error, "could not flush spans");
        }
    }

    /// Exports the spans still buffered and stops the exporter.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            eprintln!("could not flush the last spans: {error}");
        }
    }
}

/// A tracer provider that batches spans to `export`.
pub fn tracer_provider(export: &TraceExport) -> Result<SdkTracerProvider, KitError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(export.traces_endpoint.clone())
        .build()
        .map_err(|error| KitError::Logging(format!("OTLP exporter: {error}")))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(export.service_name.clone())
                .build(),
        )
        .build())
}

/// Installs the global subscriber (logs, and spans when `export` is set)
/// and the W3C propagator. Call once, at the start of `main`.
pub fn init_telemetry(
    format: LogFormat,
    export: Option<&TraceExport>,
) -> Result<Telemetry, KitError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(DEFAULT_FILTER))
        .map_err(|error| KitError::Logging(error.to_string()))?;
    let provider = export.map(tracer_provider).transpose()?;
    let spans = provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("talentgraph")));
    let registry = tracing_subscriber::registry().with(filter).with(spans);
    let result = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(true),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(tracing_subscriber::fmt::layer().compact())
            .try_init(),
    };
    result.map_err(|error| KitError::Logging(error.to_string()))?;
    Ok(Telemetry { provider })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export_from(pairs: &[(&str, &str)]) -> Option<TraceExport> {
        TraceExport::from_lookup("talentgraph-core", |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    /// Export is off without an endpoint, follows the OTLP rules for the
    /// two endpoint variables, and honours the standard off switches.
    #[test]
    fn trace_export_follows_the_standard_variables() {
        assert_eq!(export_from(&[]), None);
        let general =
            export_from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]).expect("on");
        assert_eq!(general.traces_endpoint, "http://collector:4318/v1/traces");
        assert_eq!(general.service_name, "talentgraph-core");
        let specific = export_from(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://other:4318/traces",
            ),
            ("OTEL_SERVICE_NAME", "core-canary"),
        ])
        .expect("on");
        assert_eq!(specific.traces_endpoint, "http://other:4318/traces");
        assert_eq!(specific.service_name, "core-canary");
        assert_eq!(
            export_from(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                ("OTEL_SDK_DISABLED", "true"),
            ]),
            None
        );
        assert_eq!(
            export_from(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
                ("OTEL_TRACES_EXPORTER", "none"),
            ]),
            None
        );
    }
}
