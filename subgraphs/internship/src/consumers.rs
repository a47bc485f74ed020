//! The events internship consumes. It produces none yet, so it runs no
//! outbox relay.

use talentgraph_kit::config::SubgraphConfig;
use talentgraph_kit::events::{EventTask, EventTaskList};
use talentgraph_organization_cards::{CardsFromCore, card_consumer_settings};

/// Internship's event tasks: the consumer that keeps organization cards,
/// which `Internship.organization` provides.
pub fn event_tasks(tasks: EventTaskList<'_>, _config: &SubgraphConfig) -> Vec<EventTask> {
    tasks
        .consumer(
            card_consumer_settings("internship-organization-cards"),
            CardsFromCore,
        )
        .into_tasks()
}
