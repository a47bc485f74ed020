//! The events core consumes: each handler runs in the consumer's
//! transaction, after the inbox has recorded the event.

use talentgraph_events::AccountCreated;
use talentgraph_kit::config::SubgraphConfig;
use talentgraph_kit::database::Transaction;
use talentgraph_kit::events::{
    BoxFuture, ConsumerSettings, Envelope, EventHandler, EventTask, EventTaskList, HandlerError,
};

/// `account.created` → the user's profile.
pub struct ProfileFromAccount;

impl EventHandler for ProfileFromAccount {
    fn handle<'a>(
        &'a self,
        transaction: &'a mut Transaction,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let account: AccountCreated = envelope.decode()?;
            let display_name = account.display_name.trim();
            if display_name.is_empty() || display_name.chars().count() > 120 {
                return Err(HandlerError::Rejected(format!(
                    "account {} has a display name core cannot store",
                    account.user_id
                )));
            }
            crate::store::insert_profile_for_account(transaction, account.user_id, display_name)
                .await?;
            Ok(())
        })
    }
}

/// Core's event tasks, for the kit to run beside the server: the relay
/// that publishes its outbox (organization cards) and the consumer that
/// creates profiles.
pub fn event_tasks(tasks: EventTaskList<'_>, _config: &SubgraphConfig) -> Vec<EventTask> {
    tasks
        .outbox_relay("core")
        .consumer(
            ConsumerSettings::for_event::<AccountCreated>("core-profiles"),
            ProfileFromAccount,
        )
        .into_tasks()
}
