//! The payment provider the payment subgraph charges through:
//! `PAYMENT_PROVIDER_URL` (with `PAYMENT_PROVIDER_SECRET_KEY`) when set,
//! otherwise localstripe behind the idempotency and fault proxy
//! (`talentgraph_payment_provider::local`), installed on first use by
//! `scripts/install-localstripe.sh` and stopped when dropped.

use talentgraph_payment_provider::local::{LOCAL_SECRET_KEY, LocalProvider, localstripe_python};

use crate::{LaunchError, non_blank_variable};

/// The events the payment subgraph's webhook handles.
pub const WEBHOOK_EVENTS: [&str; 2] = ["payment_intent.succeeded", "payment_intent.payment_failed"];

/// A provider and the secrets the payment subgraph needs for it.
pub struct PaymentProvider {
    pub url: String,
    pub secret_key: String,
    pub webhook_secret: String,
    local: Option<LocalProvider>,
}

impl PaymentProvider {
    /// The provider in `PAYMENT_PROVIDER_URL`, or a local one. The webhook
    /// secret is `PAYMENT_WEBHOOK_SECRET` or `default_webhook_secret`.
    pub async fn from_environment_or_local(
        default_webhook_secret: &str,
    ) -> Result<Self, LaunchError> {
        let webhook_secret = non_blank_variable("PAYMENT_WEBHOOK_SECRET")
            .unwrap_or_else(|| default_webhook_secret.to_owned());
        if let (Some(url), Some(secret_key)) = (
            non_blank_variable("PAYMENT_PROVIDER_URL"),
            non_blank_variable("PAYMENT_PROVIDER_SECRET_KEY"),
        ) {
            eprintln!("▸ using the payment provider in PAYMENT_PROVIDER_URL");
            return Ok(Self {
                url,
                secret_key,
                webhook_secret,
                local: None,
            });
        }
        Self::local(&webhook_secret).await
    }

    /// localstripe behind the proxy, installed first when missing; must
    /// run inside a Tokio runtime (the proxy is a task of it).
    pub async fn local(webhook_secret: &str) -> Result<Self, LaunchError> {
        if !localstripe_python().exists() {
            eprintln!(
                "▸ installing localstripe (the local payment provider) with scripts/install-localstripe.sh"
            );
            crate::run_install_script("install-localstripe.sh")?;
        }
        let local = LocalProvider::start()
            .await
            .map_err(LaunchError::Provider)?;
        Ok(Self {
            url: local.url(),
            secret_key: LOCAL_SECRET_KEY.to_owned(),
            webhook_secret: webhook_secret.to_owned(),
            local: Some(local),
        })
    }

    /// The local provider, to inject faults and count charges; `None` for
    /// a provider from the environment.
    pub fn local_provider(&self) -> Option<&LocalProvider> {
        self.local.as_ref()
    }

    /// Points the local provider's webhooks at `webhook_url` (payment's
    /// `/webhooks/provider`); a provider from the environment is
    /// configured by its owner.
    pub async fn register_webhook(&self, webhook_url: &str) -> Result<(), LaunchError> {
        let Some(local) = &self.local else {
            return Ok(());
        };
        local
            .register_webhook(webhook_url, &self.webhook_secret, &WEBHOOK_EVENTS)
            .await
            .map_err(LaunchError::Provider)
    }

    /// One line for a stack's summary.
    pub fn summary(&self) -> String {
        match &self.local {
            Some(local) => format!(
                "Payments: localstripe at {} behind the idempotency proxy at {} (faults: POST {}/_proxy/faults).\n\
                 Test payment methods: pm_card_visa pays, pm_card_chargeCustomerFail is declined.",
                local.localstripe_url(),
                local.url(),
                local.url()
            ),
            None => format!("Payments: the provider at {}.", self.url),
        }
    }
}
