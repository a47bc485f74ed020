//! The employer subgraph's mutations: parse, validate, call the store.

use async_graphql::{Context, ID, Object};
use talentgraph_kit::input::parse_id_argument;
use talentgraph_kit::input::{optional_text, validate_idempotency_key, validate_text};
use talentgraph_kit::{CommonError, Database, Viewer};

use crate::error::EmployerError;
use crate::model::{Job, PostJobInput, SalaryRangeInput, UpdateJobInput};
use crate::store::{self, Actor, JobChanges, NewJob, Salary};

#[derive(Default)]
pub struct Mutation;

#[Object]
impl Mutation {
    /// Makes the account with this e-mail address a recruiter of an
    /// organization (its admins and platform admins only). True when they
    /// were not one already; `NOT_FOUND` when no account has the address.
    /// Their next token (after signing in or refreshing) carries the
    /// organization.
    async fn add_recruiter(
        &self,
        context: &Context<'_>,
        organization_id: ID,
        email: String,
    ) -> async_graphql::Result<bool> {
        let organization_id = parse_id_argument("organizationId", &organization_id)?;
        let email = validate_text("email", &email, 3, 254)?.to_lowercase();
        let actor = actor(context)?;
        Ok(store::add_recruiter(
            context.data_unchecked::<Database>(),
            actor,
            organization_id,
            &email,
        )
        .await?)
    }

    /// Ends a user's membership of an organization (its admins and platform
    /// admins only); the last admin stays. True when they were a recruiter.
    async fn remove_recruiter(
        &self,
        context: &Context<'_>,
        organization_id: ID,
        user_id: ID,
    ) -> async_graphql::Result<bool> {
        let organization_id = parse_id_argument("organizationId", &organization_id)?;
        let user_id = parse_id_argument("userId", &user_id)?;
        let actor = actor(context)?;
        Ok(store::remove_recruiter(
            context.data_unchecked::<Database>(),
            actor,
            organization_id,
            user_id,
        )
        .await?)
    }

    /// Posts an open job for an organization the viewer recruits for; it
    /// costs the organization one job credit (without one, the posting
    /// becomes `REJECTED` moments later). Retrying with the same
    /// `idempotencyKey` returns the first posting's job and posts nothing;
    /// reusing a key for a different posting is a CONFLICT
    /// (IDEMPOTENCY_KEY_REUSED). Keys belong to the organization.
    async fn post_job(
        &self,
        context: &Context<'_>,
        input: PostJobInput,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<Job> {
        let organization_id = parse_id_argument("input.organizationId", &input.organization_id)?;
        let job = NewJob {
            organization_id,
            title: validate_text("title", &input.title, 3, 200)?,
            description: validate_text("description", &input.description, 1, 20_000)?,
            location: validate_text("location", &input.location, 1, 120)?,
            remote: input.remote,
            employment_type: input.employment_type,
            salary: input.salary_range.map(validate_salary).transpose()?,
            idempotency_key: idempotency_key
                .as_deref()
                .map(validate_idempotency_key)
                .transpose()?
                .map(str::to_owned),
        };
        let actor = actor(context)?;
        Ok(store::insert_job(context.data_unchecked::<Database>(), actor, job).await?)
    }

    /// Changes a job's details; only the given fields change.
    async fn update_job(
        &self,
        context: &Context<'_>,
        id: ID,
        input: UpdateJobInput,
    ) -> async_graphql::Result<Job> {
        let id = parse_id_argument("id", &id)?;
        let changes = JobChanges {
            title: optional_text("title", input.title.as_deref(), 3, 200)?,
            description: optional_text("description", input.description.as_deref(), 1, 20_000)?,
            location: optional_text("location", input.location.as_deref(), 1, 120)?,
            remote: input.remote,
            employment_type: input.employment_type,
            salary: input.salary_range.map(validate_salary).transpose()?,
        };
        let actor = actor(context)?;
        Ok(store::update_job(context.data_unchecked::<Database>(), actor, id, changes).await?)
    }

    /// Closes a job to new applications. Closing a closed job is a no-op.
    async fn close_job(&self, context: &Context<'_>, id: ID) -> async_graphql::Result<Job> {
        let id = parse_id_argument("id", &id)?;
        let actor = actor(context)?;
        Ok(store::close_job(context.data_unchecked::<Database>(), actor, id).await?)
    }
}

/// The signed-in viewer as the store's acting user.
fn actor(context: &Context<'_>) -> Result<Actor, EmployerError> {
    let viewer = Viewer::of(context);
    Ok(Actor {
        user_id: viewer.require_user()?,
        is_admin: viewer.is_admin(),
    })
}

/// Checks a salary band: non-negative, minimum not above maximum, and a
/// three-letter currency code.
fn validate_salary(range: SalaryRangeInput) -> Result<Salary, CommonError> {
    let invalid = |message: &str| CommonError::invalid_input("salaryRange", message);
    if range.min.is_some_and(|min| min < 0) || range.max.is_some_and(|max| max < 0) {
        return Err(invalid("Salary amounts must not be negative."));
    }
    if let (Some(min), Some(max)) = (range.min, range.max)
        && min > max
    {
        return Err(invalid("The salary minimum must not be above the maximum."));
    }
    if range.currency.len() != 3 || !range.currency.bytes().all(|byte| byte.is_ascii_uppercase()) {
        return Err(CommonError::invalid_input(
            "salaryRange.currency",
            "The currency must be an ISO 4217 code such as EUR.",
        ));
    }
    Ok(Salary {
        min: range.min,
        max: range.max,
        currency: range.currency,
    })
}
