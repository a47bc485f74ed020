//! The client against the real localstripe, through the proxy: test cards,
//! Stripe's idempotency-key semantics as the proxy gives them, and the
//! injected faults, with charges counted at localstripe itself.

use std::time::Duration;

use talentgraph_payment_provider::local::{LOCAL_SECRET_KEY, LocalProvider};
use talentgraph_payment_provider::proxy::Faults;
use talentgraph_payment_provider::{
    ChargeOutcome, ChargeRequest, ProviderClient, ProviderError, ProviderSettings,
};

fn client(provider: &LocalProvider) -> ProviderClient {
    ProviderClient::new(ProviderSettings {
        base_url: provider.url(),
        secret_key: LOCAL_SECRET_KEY.to_owned(),
        request_timeout: Duration::from_secs(5),
    })
    .expect("a client")
}

fn charge<'a>(key: &'a str, amount_cents: i64, payment_method: &'a str) -> ChargeRequest<'a> {
    ChargeRequest {
        idempotency_key: key,
        amount_cents,
        currency: "EUR",
        payment_method,
        invoice_id: key,
    }
}

#[tokio::test]
async fn test_cards_and_idempotency_keys_behave_like_stripe() {
    let provider = LocalProvider::start().await.expect("localstripe starts");
    let client = client(&provider);

    let paid = client
        .charge(&charge("invoice-a", 4_900, "pm_card_visa"))
        .await
        .expect("an answer");
    let ChargeOutcome::Succeeded { payment_intent_id } = &paid else {
        panic!("the visa test card pays: {paid:?}");
    };
    // The same key and parameters: the stored answer, no second charge.
    let again = client
        .charge(&charge("invoice-a", 4_900, "pm_card_visa"))
        .await
        .expect("an answer");
    assert_eq!(again, paid);
    // The same key with another amount is refused, as Stripe refuses it.
    let reused = client
        .charge(&charge("invoice-a", 9_800, "pm_card_visa"))
        .await;
    assert!(
        matches!(reused, Err(ProviderError::Refused { status: 400, .. })),
        "{reused:?}"
    );

    let declined = client
        .charge(&charge("invoice-b", 4_900, "pm_card_chargeCustomerFail"))
        .await
        .expect("an answer");
    assert!(
        matches!(&declined, ChargeOutcome::Declined { code, reason, .. } if code == "card_declined" && reason.contains("declined")),
        "{declined:?}"
    );

    let intents = provider.payment_intents().await.expect("lists charges");
    assert_eq!(intents.len(), 2, "one charge per key at the provider");
    assert!(intents.iter().any(|intent| intent.id == *payment_intent_id));
    let stats = provider.stats().await.expect("proxy stats");
    assert_eq!(stats.payment_intents_created, 2);
    assert_eq!(stats.replayed, 1);
    assert_eq!(stats.idempotency_conflicts, 1);
}

#[tokio::test]
async fn injected_faults_lose_answers_but_never_double_charge() {
    let provider = LocalProvider::start().await.expect("localstripe starts");
    let client = client(&provider);

    // A 5xx before the API: nothing happened, nothing is stored.
    provider
        .inject(Faults {
            fail_next: 1,
            ..Faults::default()
        })
        .await
        .expect("injects");
    let failed = client
        .charge(&charge("invoice-c", 1_000, "pm_card_visa"))
        .await;
    assert!(
        matches!(&failed, Err(error) if error.is_unavailable()),
        "{failed:?}"
    );
    assert_eq!(provider.payment_intents().await.expect("lists").len(), 0);

    // The charge happens but its answer is lost on the way back.
    provider
        .inject(Faults {
            drop_next: 1,
            ..Faults::default()
        })
        .await
        .expect("injects");
    let dropped = client
        .charge(&charge("invoice-c", 1_000, "pm_card_visa"))
        .await;
    assert!(
        matches!(&dropped, Err(error) if error.is_unavailable()),
        "{dropped:?}"
    );
    assert_eq!(provider.payment_intents().await.expect("lists").len(), 1);

    // The retry with the same key learns the outcome; still one charge.
    let retried = client
        .charge(&charge("invoice-c", 1_000, "pm_card_visa"))
        .await
        .expect("an answer");
    assert!(matches!(retried, ChargeOutcome::Succeeded { .. }));
    assert_eq!(provider.payment_intents().await.expect("lists").len(), 1);
    let stats = provider.stats().await.expect("proxy stats");
    assert_eq!(
        (
            stats.injected_failures,
            stats.dropped_responses,
            stats.replayed
        ),
        (1, 1, 1)
    );
}
