//! Structured logging set-up.
//!
//! JSON lines in production (one object per event, with the fields of the
//! enclosing spans such as `request_id`), readable lines in development.
//! `RUST_LOG` overrides the default filter.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;
use crate::error::KitError;

const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info";

/// Installs the global subscriber. Call once, at the start of `main`.
pub fn init_logging(format: LogFormat) -> Result<(), KitError> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(DEFAULT_FILTER))
        .map_err(|error| KitError::Logging(error.to_string()))?;
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(tracing_subscriber::fmt::layer().compact())
            .try_init(),
    };
    result.map_err(|error| KitError::Logging(error.to_string()))
}
