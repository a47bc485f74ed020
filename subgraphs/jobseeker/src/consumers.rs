//! The events jobseeker consumes: each handler runs in the consumer's
//! transaction, after the inbox has recorded the event.

use talentgraph_events::JobPosted;
use talentgraph_kit::Database;
use talentgraph_kit::database::Transaction;
use talentgraph_kit::events::{
    BoxFuture, Broker, ConsumerSettings, Envelope, Event, EventConsumer, EventHandler, EventTask,
    HandlerError, StopSignal,
};

/// `job.posted` → which organization the job belongs to.
pub struct JobOwnershipFromPostings;

impl EventHandler for JobOwnershipFromPostings {
    fn handle<'a>(
        &'a self,
        transaction: &'a mut Transaction,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let posted: JobPosted = envelope
                .decode()
                .map_err(|error| HandlerError::Rejected(error.to_string()))?;
            crate::store::record_job_organization(
                transaction,
                posted.job_id,
                posted.organization_id,
            )
            .await?;
            Ok(())
        })
    }
}

/// Jobseeker's consumers, for the kit to run beside the server.
pub fn event_tasks(database: &Database, broker: &Broker, stop: StopSignal) -> Vec<EventTask> {
    vec![Box::pin(
        EventConsumer::new(
            database,
            broker.clone(),
            ConsumerSettings::new(
                "jobseeker-job-ownership",
                JobPosted::PRODUCER,
                vec![JobPosted::subject()],
            ),
            JobOwnershipFromPostings,
        )
        .run(stop.stopped()),
    )]
}
