//! The events employer consumes: each handler runs in the consumer's
//! transaction, after the inbox has recorded the event.

use talentgraph_events::{AccountCreated, JobPostingRejected};
use talentgraph_kit::config::SubgraphConfig;
use talentgraph_kit::database::Transaction;
use talentgraph_kit::events::{
    BoxFuture, ConsumerSettings, Envelope, EventHandler, EventTask, EventTaskList, HandlerError,
};
use talentgraph_organization_cards::{CardsFromCore, card_consumer_settings};

/// `account.created` → the account's address in the directory that
/// `addRecruiter` reads.
pub struct AccountDirectoryFromAccounts;

impl EventHandler for AccountDirectoryFromAccounts {
    fn handle<'a>(
        &'a self,
        transaction: &'a mut Transaction,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let account: AccountCreated = envelope.decode()?;
            // Events written before the address was part of the payload
            // carry none; such an account cannot be added by address, which
            // is what its absence from the directory says.
            if let Some(email) = account.email {
                crate::store::record_account_address(
                    transaction,
                    account.user_id,
                    &email.to_lowercase(),
                )
                .await?;
            }
            Ok(())
        })
    }
}

/// `job.posting_rejected` → the job leaves search (`REJECTED`).
pub struct RejectedPostings;

impl EventHandler for RejectedPostings {
    fn handle<'a>(
        &'a self,
        transaction: &'a mut Transaction,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let rejected: JobPostingRejected = envelope.decode()?;
            crate::store::reject_job_posting(transaction, rejected.job_id).await?;
            Ok(())
        })
    }
}

/// Employer's event tasks: the relay that publishes its outbox, the
/// consumer that keeps the account directory, the one that takes rejected
/// postings out of search and the one that keeps organization cards.
pub fn event_tasks(tasks: EventTaskList<'_>, _config: &SubgraphConfig) -> Vec<EventTask> {
    tasks
        .outbox_relay("employer")
        .consumer(
            ConsumerSettings::for_event::<AccountCreated>("employer-account-directory"),
            AccountDirectoryFromAccounts,
        )
        .consumer(
            ConsumerSettings::for_event::<JobPostingRejected>("employer-posting-rejections"),
            RejectedPostings,
        )
        .consumer(
            card_consumer_settings("employer-organization-cards"),
            CardsFromCore,
        )
        .into_tasks()
}
