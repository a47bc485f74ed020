//! The jobseeker subgraph's mutations: parse, validate, call the store.

use async_graphql::{Context, ID, Object};
use talentgraph_kit::errors::optional_free_text;
use talentgraph_kit::guards::RoleGuard;
use talentgraph_kit::input::parse_id_argument;
use talentgraph_kit::{CommonError, Database, Role, Viewer};

use crate::model::{Application, Job, JobseekerProfile, UpdateJobseekerProfileInput};
use crate::store::{self, ProfileChanges};

#[derive(Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    /// Applies the viewer to a job. Applying twice is a CONFLICT with
    /// reason ALREADY_APPLIED.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Jobseeker])")]
    async fn apply_to_job(
        &self,
        context: &Context<'_>,
        job_id: ID,
        cover_letter: Option<String>,
    ) -> async_graphql::Result<Application> {
        let job_id = parse_id_argument("jobId", &job_id)?;
        let applicant = Viewer::of(context).require_user()?;
        let cover_letter = optional_free_text(
            "coverLetter",
            cover_letter,
            10_000,
            "The cover letter must be at most 10,000 characters.",
        )?;
        let database = context.data_unchecked::<Database>();
        Ok(store::insert_application(database, job_id, applicant, cover_letter).await?)
    }

    /// Withdraws one of the viewer's own applications.
    async fn withdraw_application(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Application> {
        let id = parse_id_argument("id", &id)?;
        let viewer_id = Viewer::of(context).require_user()?;
        let database = context.data_unchecked::<Database>();
        Ok(store::withdraw_application(database, id, viewer_id).await?)
    }

    /// Saves a job for the viewer; saving twice keeps one entry.
    async fn save_job(&self, context: &Context<'_>, job_id: ID) -> async_graphql::Result<Job> {
        let job_id = parse_id_argument("jobId", &job_id)?;
        let viewer_id = Viewer::of(context).require_user()?;
        store::save_job(context.data_unchecked::<Database>(), viewer_id, job_id).await?;
        Ok(Job::new(job_id))
    }

    /// Removes a saved job; returns whether it was saved.
    async fn unsave_job(&self, context: &Context<'_>, job_id: ID) -> async_graphql::Result<bool> {
        let job_id = parse_id_argument("jobId", &job_id)?;
        let viewer_id = Viewer::of(context).require_user()?;
        Ok(store::unsave_job(context.data_unchecked::<Database>(), viewer_id, job_id).await?)
    }

    /// Creates or changes the viewer's candidate profile; left-out fields stay.
    async fn update_jobseeker_profile(
        &self,
        context: &Context<'_>,
        input: UpdateJobseekerProfileInput,
    ) -> async_graphql::Result<JobseekerProfile> {
        let viewer_id = Viewer::of(context).require_user()?;
        let desired_titles = input
            .desired_titles
            .as_deref()
            .map(|values| validate_list("desiredTitles", values))
            .transpose()?;
        let desired_locations = input
            .desired_locations
            .as_deref()
            .map(|values| validate_list("desiredLocations", values))
            .transpose()?;
        if input
            .years_of_experience
            .is_some_and(|years| !(0..=70).contains(&years))
        {
            return Err(CommonError::invalid_input(
                "yearsOfExperience",
                "`yearsOfExperience` must be from 0 to 70.",
            )
            .into());
        }
        if input
            .resume_url
            .as_ref()
            .is_some_and(|url| !url.starts_with("https://"))
        {
            return Err(CommonError::invalid_input(
                "resumeUrl",
                "`resumeUrl` must be an https:// URL.",
            )
            .into());
        }
        let changes = ProfileChanges {
            open_to_work: input.open_to_work,
            desired_titles,
            desired_locations,
            years_of_experience: input.years_of_experience,
            resume_url: input.resume_url,
        };
        let database = context.data_unchecked::<Database>();
        Ok(store::upsert_profile(database, viewer_id, changes).await?)
    }
}

/// Checks a list of short texts: at most 10 entries of 1 to 100 characters
/// each, trimmed.
fn validate_list(field: &'static str, values: &[String]) -> Result<Vec<String>, CommonError> {
    if values.len() > 10 {
        return Err(CommonError::invalid_input(
            field,
            format!("`{field}` takes at most 10 entries."),
        ));
    }
    values
        .iter()
        .map(|value| {
            let value = value.trim();
            if value.is_empty() || value.chars().count() > 100 {
                Err(CommonError::invalid_input(
                    field,
                    format!("Each `{field}` entry must be 1 to 100 characters."),
                ))
            } else {
                Ok(value.to_owned())
            }
        })
        .collect()
}
