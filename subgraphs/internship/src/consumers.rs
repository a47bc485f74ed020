//! The events internship consumes. It produces none yet, so it runs no
//! outbox relay.

use talentgraph_kit::Database;
use talentgraph_kit::config::SubgraphConfig;
use talentgraph_kit::events::{Broker, EventTask, StopSignal};

/// Internship's event tasks: the consumer that keeps organization cards,
/// which `Internship.organization` provides.
pub fn event_tasks(
    database: &Database,
    broker: &Broker,
    _config: &SubgraphConfig,
    stop: StopSignal,
) -> Vec<EventTask> {
    vec![talentgraph_organization_cards::card_consumer_task(
        database,
        broker,
        "internship-organization-cards",
        stop,
    )]
}
