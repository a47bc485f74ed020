//! The events jobseeker consumes: each handler runs in the consumer's
//! transaction, after the inbox has recorded the event.

use talentgraph_events::{JobClosed, JobPosted, JobPostingRejected};
use talentgraph_kit::config::SubgraphConfig;
use talentgraph_kit::database::Transaction;
use talentgraph_kit::events::{
    BoxFuture, ConsumerSettings, Envelope, EventHandler, EventTask, EventTaskList, HandlerError,
};

/// `job.posted` → which organization the job belongs to; `job.closed` →
/// that it takes no more applications. One consumer for both, so a job is
/// never closed before it is posted.
pub struct JobOwnershipFromPostings;

impl EventHandler for JobOwnershipFromPostings {
    fn handle<'a>(
        &'a self,
        transaction: &'a mut Transaction,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            if envelope.is::<JobClosed>() {
                let closed: JobClosed = envelope.decode()?;
                crate::store::record_job_closed(transaction, closed.job_id, closed.organization_id)
                    .await?;
            } else {
                let posted: JobPosted = envelope.decode()?;
                crate::store::record_job_organization(
                    transaction,
                    posted.job_id,
                    posted.organization_id,
                )
                .await?;
            }
            Ok(())
        })
    }
}

/// `job.posting_rejected` (from payment: no job credit for the posting) →
/// the job takes no applications, like a closed one. The record is an
/// upsert, so it holds whichever of this and `job.posted` arrives first.
pub struct RejectedPostingsAreClosed;

impl EventHandler for RejectedPostingsAreClosed {
    fn handle<'a>(
        &'a self,
        transaction: &'a mut Transaction,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let rejected: JobPostingRejected = envelope.decode()?;
            crate::store::record_job_closed(transaction, rejected.job_id, rejected.organization_id)
                .await?;
            Ok(())
        })
    }
}

/// Jobseeker's consumers, for the kit to run beside the server.
pub fn event_tasks(tasks: EventTaskList<'_>, _config: &SubgraphConfig) -> Vec<EventTask> {
    tasks
        .consumer(
            ConsumerSettings::for_event::<JobPosted>("jobseeker-job-ownership")
                .and_event::<JobClosed>(),
            JobOwnershipFromPostings,
        )
        .consumer(
            ConsumerSettings::for_event::<JobPostingRejected>("jobseeker-rejected-postings"),
            RejectedPostingsAreClosed,
        )
        .into_tasks()
}
