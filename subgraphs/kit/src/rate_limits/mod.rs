//! Rate limits for every operation a client sends, shared by all replicas
//! through Redis and kept by each process alone while Redis is away.
//!
//! [`table`] says what each operation costs and what its key is; the
//! GraphQL pipeline (`graphql::http::execution`) asks [`RateLimiter::admit`]
//! once per request, after the document passed its checks and before it
//! runs, and answers a refusal `RATE_LIMITED` with `retryAfterSeconds`
//! (HTTP 429 with `Retry-After`). A decision goes to the [`shared_window`]
//! in Redis, bounded by a timeout of a few milliseconds; when Redis fails
//! or is slow the [`shadow_window`] of this process decides, a warning and
//! the `rate_limit_shared_window_up` gauge say so, and no request fails
//! because Redis is down. When Redis answers again the shared window
//! decides again.

mod shadow_window;
mod shared_window;
pub mod table;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_graphql::Variables;
use async_graphql::parser::Positioned;
use async_graphql::parser::types::{Field, OperationType};
use async_graphql_value::{ConstValue, Name};
use uuid::Uuid;

pub use crate::config::RateLimitSettings;
use crate::identity::Viewer;
use shadow_window::ShadowWindow;
use shared_window::{SharedDecision, SharedWindow};
use table::{KeyBy, OperationClass};

/// One operation's cost: a class, and the organization it acts for when
/// its arguments name one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub class: OperationClass,
    pub organization: Option<Uuid>,
}

/// What the limiter decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    Refused {
        class: &'static str,
        /// Whole seconds, at least one.
        retry_after_seconds: u64,
    },
}

/// The limiter of one subgraph process.
pub struct RateLimiter {
    settings: RateLimitSettings,
    shared: Option<SharedWindow>,
    shadow: ShadowWindow,
    /// Whether the last decision came from the shared window, so the
    /// switch either way is logged once, not per request.
    shared_was_up: AtomicBool,
    /// When a switch to the shadow window was last logged as a warning.
    /// Under CPU pressure Redis can miss the timeout now and then, and
    /// each miss is a switch: one warning a minute says so, the rest are
    /// debug lines (the gauge and the decision counter count them all).
    last_warning: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How often a switch to the shadow window is logged as a warning.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);

impl RateLimiter {
    /// A limiter; fails only on a malformed `REDIS_URL` (a Redis that is
    /// down is the shadow window's case, not an error).
    pub fn new(settings: RateLimitSettings) -> Result<Self, String> {
        let shared = match (&settings.redis_url, settings.enabled) {
            (Some(url), true) => Some(SharedWindow::new(url, settings.redis_timeout)?),
            _ => None,
        };
        Ok(Self {
            shared_was_up: AtomicBool::new(shared.is_some()),
            last_warning: std::sync::Mutex::new(None),
            settings,
            shared,
            shadow: ShadowWindow::default(),
        })
    }

    /// Admits the operation, or refuses it with the first class whose
    /// window is full. `client_address` is the one the kit trusts (see
    /// `request::RequestContext`); anything that is not an IP address is
    /// one "unknown" client, so no odd bytes reach a key.
    pub async fn admit(
        &self,
        charges: &[Charge],
        viewer: &Viewer,
        client_address: Option<&str>,
    ) -> Admission {
        if !self.settings.enabled {
            return Admission::Admitted;
        }
        for charge in charges {
            let key = Self::key(charge, viewer, client_address);
            let limit = charge.class.limit.saturating_mul(self.settings.multiplier);
            let window = charge.class.window;
            let refused = self.decide(charge.class.name, &key, limit, window).await;
            if let Some(retry_after) = refused {
                return Admission::Refused {
                    class: charge.class.name,
                    retry_after_seconds: retry_after.as_secs_f64().ceil().max(1.0) as u64,
                };
            }
        }
        Admission::Admitted
    }

    /// `None` when admitted; how long to wait when refused.
    async fn decide(
        &self,
        class: &str,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Option<Duration> {
        let shared_decision = match &self.shared {
            Some(shared) => Some(shared.admit(key, limit, window).await),
            None => None,
        };
        let (refused, shared) = match shared_decision {
            Some(SharedDecision::Admitted) => {
                self.shadow.record(key, window);
                self.note_shared_window(true, None);
                (None, true)
            }
            Some(SharedDecision::Refused { retry_after }) => {
                self.note_shared_window(true, None);
                (Some(retry_after), true)
            }
            Some(SharedDecision::Unavailable(why)) => {
                self.note_shared_window(false, Some(&why));
                (self.shadow.admit(key, limit, window).err(), false)
            }
            None => (self.shadow.admit(key, limit, window).err(), false),
        };
        if let Some(metrics) = crate::metrics::metrics() {
            metrics.record_rate_limit_decision(class, refused.is_none(), shared);
        }
        refused
    }

    fn note_shared_window(&self, up: bool, why: Option<&str>) {
        let was_up = self.shared_was_up.swap(up, Ordering::Relaxed);
        match (was_up, up) {
            (true, false) => {
                let mut last_warning = self
                    .last_warning
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let now = std::time::Instant::now();
                if last_warning.is_none_or(|at| now.duration_since(at) >= WARNING_INTERVAL) {
                    *last_warning = Some(now);
                    tracing::warn!(
                        error = why.unwrap_or_default(),
                        "Redis is unavailable: rate limits are kept by this process alone until it answers again"
                    );
                } else {
                    tracing::debug!(
                        error = why.unwrap_or_default(),
                        "Redis is unavailable again"
                    );
                }
            }
            (false, true) => {
                tracing::debug!(
                    "Redis answers again: rate limits are shared across replicas again"
                );
            }
            _ => {}
        }
    }

    /// `tg:rl:<class>:<org|user|addr>:<id>`: every part is a name from the
    /// table, a UUID or an IP address, so a key's length is bounded
    /// whatever the client sent. A page read is counted by each subgraph
    /// its root fields ask (the router's root fetches); the pages of
    /// `pages/` each ask one.
    fn key(charge: &Charge, viewer: &Viewer, client_address: Option<&str>) -> String {
        let subject = match (charge.class.key_by, charge.organization) {
            (KeyBy::OrganizationActedFor, Some(organization))
                if viewer.is_recruiter_of(organization) =>
            {
                format!("org:{organization}")
            }
            _ => match viewer.user_id() {
                Some(user) => format!("user:{user}"),
                None => match client_address
                    .and_then(|address| address.parse::<std::net::IpAddr>().ok())
                {
                    Some(address) => format!("addr:{address}"),
                    None => "addr:unknown".to_owned(),
                },
            },
        };
        format!("tg:rl:{}:{subject}", charge.class.name)
    }
}

/// What an operation of `operation_type` selecting `root_fields` (fragments
/// followed) costs: nothing for the router's own fetches (`_entities`,
/// `_service`: the client's operation was counted where its root fields
/// ran); one page read for a query; one charge per root field of a
/// mutation (aliases of one mutation each cost one).
pub fn charges(
    operation_type: OperationType,
    root_fields: &[&Positioned<Field>],
    variables: &Variables,
) -> Vec<Charge> {
    let fields = root_fields;
    let router_fetch = fields
        .iter()
        .any(|field| matches!(field.node.name.node.as_str(), "_entities" | "_service"));
    if router_fetch {
        return Vec::new();
    }
    match operation_type {
        OperationType::Query | OperationType::Subscription => vec![Charge {
            class: table::PAGE_READS,
            organization: None,
        }],
        OperationType::Mutation => fields
            .iter()
            .filter(|field| field.node.name.node.as_str() != "__typename")
            .map(|field| Charge {
                class: table::mutation_class(field.node.name.node.as_str()),
                organization: organization_argument(&field.node, variables),
            })
            .collect(),
    }
}

/// The `organizationId` argument of a root field, or its `input`'s, with
/// variables resolved; `None` when absent or not a UUID.
fn organization_argument(field: &Field, variables: &Variables) -> Option<Uuid> {
    let resolve = |value: &async_graphql_value::Value| {
        value
            .clone()
            .into_const_with(|name: Name| {
                Ok::<_, std::convert::Infallible>(
                    variables.get(&name).cloned().unwrap_or(ConstValue::Null),
                )
            })
            .ok()
    };
    let argument = |name: &str| {
        field
            .arguments
            .iter()
            .find(|(argument, _)| argument.node.as_str() == name)
            .and_then(|(_, value)| resolve(&value.node))
    };
    let organization = argument("organizationId").or_else(|| match argument("input") {
        Some(ConstValue::Object(input)) => input.get("organizationId").cloned(),
        _ => None,
    })?;
    match organization {
        ConstValue::String(id) => Uuid::parse_str(&id).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
