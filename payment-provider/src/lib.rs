//! The payment provider as the payment subgraph sees it.
//!
//! - [`client`]: the Stripe API subset used to charge (PaymentIntents,
//!   created and confirmed under an idempotency key), with every answer
//!   sorted into succeeded, declined, unavailable (retry) or refused.
//! - [`breaker`]: a circuit breaker per provider.
//! - [`webhook`]: Stripe's webhook signature scheme.
//! - [`proxy`] and [`local`]: the local provider for development and
//!   tests, localstripe behind a proxy that adds Stripe's idempotency-key
//!   semantics and injects faults. Production talks to Stripe directly.

pub mod breaker;
pub mod client;
pub mod local;
pub mod proxy;
pub mod webhook;

pub use breaker::{Admission, BreakerSettings, CircuitBreaker};
pub use client::{
    ChargeOutcome, ChargeRequest, PaymentIntentSummary, ProviderClient, ProviderError,
    ProviderSettings,
};
