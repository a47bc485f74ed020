//! The GraphQL types of the jobseeker subgraph and their field resolvers.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use talentgraph_kit::graphql::plain_fields::PlainFields;
use talentgraph_kit::guards::OwnerGuard;
use talentgraph_kit::identity::Viewer;
use talentgraph_kit::loaders::{CountWithSubject, NoFilter, RequestLoaders, load_child_page};
use talentgraph_kit::{connection_type, text_enum};
use uuid::Uuid;

use crate::loaders::Loaders;
use talentgraph_kit::{child_row, identified_row};

text_enum! {
    pub enum ApplicationStatus {
        Submitted => "SUBMITTED",
        InReview => "IN_REVIEW",
        Interviewing => "INTERVIEWING",
        Offered => "OFFERED",
        Rejected => "REJECTED",
        Withdrawn => "WITHDRAWN",
    }
}

/// An application of a person to a job.
#[derive(Debug, Clone, SimpleObject, sqlx::FromRow)]
#[graphql(complex)]
pub struct Application {
    #[graphql(skip)]
    pub id: Uuid,
    /// Which parent a page query grouped the row under (job or applicant).
    #[graphql(skip)]
    #[sqlx(default)]
    pub parent_id: Uuid,
    #[graphql(skip)]
    pub job_id: Uuid,
    #[graphql(skip)]
    pub applicant_id: Uuid,
    pub status: ApplicationStatus,
    pub cover_letter: Option<String>,
    pub applied_at: DateTime<Utc>,
}

identified_row!(Application, id);

child_row!(Application, parent: parent_id, cursor: (applied_at, id));

#[ComplexObject]
impl Application {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    async fn job(&self) -> Job {
        Job::new(self.job_id)
    }

    async fn applicant(&self) -> User {
        User {
            id: self.applicant_id,
        }
    }
}

/// What a candidate tells recruiters they are looking for.
#[derive(Debug, Clone, SimpleObject, sqlx::FromRow)]
#[graphql(complex)]
pub struct JobseekerProfile {
    #[graphql(skip)]
    pub user_id: Uuid,
    pub open_to_work: bool,
    pub desired_titles: Vec<String>,
    pub desired_locations: Vec<String>,
    pub years_of_experience: Option<i32>,
    #[graphql(skip)]
    pub resume_url: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[ComplexObject]
impl JobseekerProfile {
    /// Where the candidate's résumé is: for the candidate, admins, and the
    /// recruiters of an organization whose job they applied to (until they
    /// withdraw). A résumé carries contact details and history a candidate
    /// shares with the employers they apply to, not with every account.
    async fn resume_url(&self, context: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        let viewer = Viewer::of(context);
        viewer.require_user()?;
        // Only a recruiter's question costs a statement.
        let readable = viewer.user_id() == Some(self.user_id)
            || viewer.is_admin()
            || (!viewer.recruiting_organizations().is_empty()
                && Loaders::of(context)
                    .applied_to_viewers_organizations
                    .load_one(self.user_id)
                    .await?
                    .unwrap_or(false));
        if readable {
            Ok(self.resume_url.as_deref())
        } else {
            Err(talentgraph_kit::errors::client_error(
                talentgraph_kit::errors::ErrorCode::Forbidden,
                "A résumé is visible to the candidate and to recruiters of the organizations they applied to.",
            ))
        }
    }
}

identified_row!(JobseekerProfile, user_id);

/// Which organization a job belongs to, as employer announced it
/// (`job.posted.v1`); what `Job.applications` checks recruiters against.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobOwnership {
    pub job_id: Uuid,
    pub organization_id: Uuid,
}

identified_row!(JobOwnership, job_id);

/// Lets through admins and recruiters of the organization jobseeker
/// recorded for the job (for a job not recorded yet, which has no
/// applications, of the organization the router sent). The organization in the request's representation
/// is not believed: a caller who knew the router secret could name any.
/// A representation that disagrees with the record is refused outright.
pub struct JobApplicationsGuard {
    job_id: Uuid,
    claimed_organization: Option<Uuid>,
}

impl JobApplicationsGuard {
    pub fn new(job_id: Uuid, claimed_organization: Option<Uuid>) -> Self {
        Self {
            job_id,
            claimed_organization,
        }
    }
}

impl async_graphql::Guard for JobApplicationsGuard {
    async fn check(&self, context: &Context<'_>) -> async_graphql::Result<()> {
        let viewer = Viewer::of(context);
        viewer.require_user()?;
        if viewer.is_admin() {
            return Ok(());
        }
        let recorded = Loaders::of(context)
            .job_organizations
            .load_one(self.job_id)
            .await?
            .map(|ownership| ownership.organization_id);
        let Some(organization) = recorded else {
            // Not announced here yet: employer's `job.posted` is on its way
            // (a posting shows on its recruiters' dashboard before the
            // event arrives). No application can exist for such a job
            // (`applyToJob` needs the record), so the answer, an empty list,
            // tells nothing whoever asks; the organization the router sent
            // decides who gets it, as the record will once it arrives.
            return match self.claimed_organization {
                Some(claimed) => viewer.require_recruiter_of(claimed, true),
                None => Err(talentgraph_kit::client_error(
                    talentgraph_kit::ErrorCode::Forbidden,
                    "This job's organization is not known here yet, so its recruiters cannot be checked; try again in a moment.",
                )),
            };
        };
        if self
            .claimed_organization
            .is_some_and(|claimed| claimed != organization)
        {
            tracing::warn!(job_id = %self.job_id, "a Job representation named another organization than the job's");
            return Err(talentgraph_kit::client_error(
                talentgraph_kit::ErrorCode::Forbidden,
                "The job belongs to another organization than the request says.",
            ));
        }
        viewer.require_recruiter_of(organization, true)
    }
}

/// A job a user saved for later.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SavedJob {
    pub user_id: Uuid,
    pub job_id: Uuid,
    pub saved_at: DateTime<Utc>,
}

child_row!(SavedJob, parent: user_id, cursor: (saved_at, job_id));

connection_type!(ApplicationConnection, ApplicationEdge, Application);
connection_type!(JobConnection, JobEdge, Job);

/// A job as jobseeker sees it: how many applied, and whether the viewer did.
pub struct Job {
    pub id: Uuid,
    /// The job's organization, when the router sent it along (it does for
    /// `applications`, which requires it); owned by employer.
    pub organization_id: Option<Uuid>,
    /// The job's application tally, when whoever made this job had already
    /// loaded it (the entity resolver does, when the fetch asks for it);
    /// its two fields then resolve in one pass (see [`PlainFields`]).
    pub known_tally: Option<CountWithSubject>,
}

impl Job {
    pub fn new(id: Uuid) -> Self {
        Self {
            id,
            organization_id: None,
            known_tally: None,
        }
    }

    async fn tally(&self, context: &Context<'_>) -> async_graphql::Result<CountWithSubject> {
        if let Some(tally) = self.known_tally {
            return Ok(tally);
        }
        let loader = &Loaders::of(context).application_tallies_by_job;
        Ok(loader.load_one(self.id).await?.unwrap_or_default())
    }
}

/// A search page's jobs arrive here as ten representations asking for
/// `applicationCount` and `viewerHasApplied`: with the tally known, that
/// is one pass per job instead of two field futures.
impl PlainFields for Job {
    fn plain_field(&self, field_name: &str) -> Option<async_graphql::Value> {
        use async_graphql::Value;
        match field_name {
            "id" => Some(Value::String(self.id.to_string())),
            "applicationCount" => self.known_tally.map(|tally| Value::from(tally.count)),
            "viewerHasApplied" => self
                .known_tally
                .map(|tally| Value::Boolean(tally.includes_subject)),
            _ => None,
        }
    }
}

/// An organization by reference only: jobseeker never resolves one.
#[derive(SimpleObject)]
#[graphql(unresolvable = "id")]
pub struct Organization {
    pub id: ID,
}

/// The organization part of a job representation sent by the router.
#[derive(Debug, InputObject)]
pub struct OrganizationReference {
    pub id: ID,
}

#[Object]
impl Job {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// Employer's field, declared here so `applications` can require it.
    /// The router always asks employer for it; jobseeker only knows it
    /// when a representation carried it.
    #[graphql(external)]
    async fn organization(&self) -> async_graphql::Result<Organization> {
        self.organization_id
            .map(|id| Organization {
                id: ID(id.to_string()),
            })
            // Asked directly, not through the router: the client's mistake,
            // answered with a code rather than as an internal error.
            .ok_or_else(|| {
                talentgraph_kit::client_error(
                    talentgraph_kit::ErrorCode::BadRequest,
                    "Job.organization is resolved by the employer subgraph; query it through the router.",
                )
            })
    }

    /// Active (not withdrawn) applications to this job.
    async fn application_count(&self, context: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(self.tally(context).await?.count)
    }

    /// Whether the signed-in viewer has an active application; false when anonymous.
    async fn viewer_has_applied(&self, context: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(self.tally(context).await?.includes_subject)
    }

    /// The job's applications, newest first: for recruiters of the job's
    /// organization and admins. Which organization the job belongs to is
    /// employer's data, sent by the router in the job's representation; a
    /// request that bypasses the router could invent it, so this field is
    /// only served through the router.
    #[graphql(
        requires = "organization { id }",
        guard = "JobApplicationsGuard::new(self.id, self.organization_id)",
        complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)"
    )]
    async fn applications(
        &self,
        context: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ApplicationConnection> {
        let loader = &Loaders::of(context).applications_of_job;
        let page = load_child_page(loader, self.id, first, after, NoFilter).await?;
        Ok(ApplicationConnection::from_child_page(page, |row| row))
    }
}

/// A user as jobseeker sees them.
pub struct User {
    pub id: Uuid,
}

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The user's candidate profile; null when they have none.
    async fn jobseeker_profile(
        &self,
        context: &Context<'_>,
    ) -> async_graphql::Result<Option<Arc<JobseekerProfile>>> {
        Loaders::of(context)
            .profiles_by_user
            .load_one(self.id)
            .await
    }

    /// The user's own applications, newest first (the user and admins only).
    #[graphql(
        guard = "OwnerGuard::self_or_admin(self.id)",
        complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)"
    )]
    async fn applications(
        &self,
        context: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ApplicationConnection> {
        let loader = &Loaders::of(context).applications_of_applicant;
        let page = load_child_page(loader, self.id, first, after, NoFilter).await?;
        Ok(ApplicationConnection::from_child_page(page, |row| row))
    }

    /// Jobs the user saved, most recently saved first (the user and admins only).
    #[graphql(
        guard = "OwnerGuard::self_or_admin(self.id)",
        complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)"
    )]
    async fn saved_jobs(
        &self,
        context: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<JobConnection> {
        let loader = &Loaders::of(context).saved_jobs_of_user;
        let page = load_child_page(loader, self.id, first, after, NoFilter).await?;
        Ok(JobConnection::from_child_page(page, |row| {
            Job::new(row.job_id)
        }))
    }
}

#[derive(Debug, InputObject)]
pub struct UpdateJobseekerProfileInput {
    pub open_to_work: Option<bool>,
    pub desired_titles: Option<Vec<String>>,
    pub desired_locations: Option<Vec<String>>,
    pub years_of_experience: Option<i32>,
    pub resume_url: Option<String>,
}
