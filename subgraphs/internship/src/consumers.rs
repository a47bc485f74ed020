//! The events internship consumes. It produces none yet, so it runs no
//! outbox relay.

use talentgraph_kit::Database;
use talentgraph_kit::config::SubgraphConfig;
use talentgraph_kit::events::{Broker, EventTask, EventTaskList, StopSignal};
use talentgraph_organization_cards::{CardsFromCore, card_consumer_settings};

/// Internship's event tasks: the consumer that keeps organization cards,
/// which `Internship.organization` provides.
pub fn event_tasks(
    database: &Database,
    broker: &Broker,
    _config: &SubgraphConfig,
    stop: StopSignal,
) -> Vec<EventTask> {
    EventTaskList::new(database, broker, stop)
        .consumer(
            card_consumer_settings("internship-organization-cards"),
            CardsFromCore,
        )
        .into_tasks()
}
