//! Seeds employer's part of the demo world: recruiters and jobs.

use rand::Rng;
use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::demo::demo_rng;
use talentgraph_kit::{Database, DatabaseError};
use uuid::Uuid;

use crate::model::EmploymentType;

const TITLES: &[&str] = &[
    "Backend Engineer",
    "Senior Rust Engineer",
    "Frontend Developer",
    "Data Scientist",
    "Product Designer",
    "Site Reliability Engineer",
    "Engineering Manager",
    "Mobile Developer",
    "Security Engineer",
    "QA Engineer",
    "Technical Writer",
    "Data Engineer",
    "Machine Learning Engineer",
    "Solutions Architect",
    "Product Manager",
];
const LOCATIONS: &[&str] = &[
    "Berlin",
    "Lisbon",
    "Toronto",
    "Austin",
    "Nairobi",
    "Bangalore",
    "Singapore",
    "Amsterdam",
    "London",
    "Madrid",
];
const CURRENCIES: &[&str] = &["EUR", "USD", "GBP", "CAD"];
const CHUNK: usize = 2_000;

/// Inserts employer's demo rows; returns how many rows were new.
#[tracing::instrument(skip_all)]
pub async fn seed(database: &Database, world: &DemoWorld) -> Result<u64, DatabaseError> {
    let mut organization_ids = Vec::new();
    let mut user_ids = Vec::new();
    let mut added = Vec::new();
    for organization in 0..world.organizations {
        for recruiter in world.recruiters_of(organization) {
            organization_ids.push(world.organization_id(organization));
            user_ids.push(world.user_id(recruiter));
            added.push(world.timestamp(
                60 * 24 * 50,
                organization * 2 + recruiter % 2,
                world.organizations * 2,
            ));
        }
    }
    // The first recruiter of each organization is its admin. New members
    // are announced like any other (`recruiter.added`), so auth's
    // projection of memberships fills from the events, as in production.
    let admins: Vec<bool> = organization_ids
        .iter()
        .enumerate()
        .map(|(index, organization)| index == 0 || organization_ids[index - 1] != *organization)
        .collect();
    let mut transaction = database.begin().await?;
    let new_members: Vec<(Uuid, Uuid)> = transaction
        .fetch_all(
            sqlx::query_as(
                "INSERT INTO recruiters (organization_id, user_id, added_at, is_admin) \
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[], $4::boolean[]) \
                 ON CONFLICT DO NOTHING RETURNING organization_id, user_id",
            )
            .bind(organization_ids)
            .bind(user_ids)
            .bind(added)
            .bind(admins),
        )
        .await?;
    for (organization_id, user_id) in &new_members {
        talentgraph_kit::events::record_event(
            &mut transaction,
            &talentgraph_events::RecruiterAdded {
                organization_id: *organization_id,
                user_id: *user_id,
                added_by: None,
                // Demo memberships start unversioned: the first real
                // change of one is version 1.
                membership_version: None,
            },
        )
        .await?;
    }
    transaction.commit().await?;
    let mut inserted = new_members.len() as u64;

    // The demo accounts are seeded straight into auth, not signed up, so
    // no `account.created` announces them: their addresses are seeded here.
    let (directory_ids, directory_emails): (Vec<Uuid>, Vec<String>) = (0..world.users)
        .map(|user| (world.user_id(user), world.email(user)))
        .unzip();
    inserted += database
        .execute(
            sqlx::query(
                "INSERT INTO account_directory (user_id, email) \
                 SELECT * FROM UNNEST($1::uuid[], $2::text[]) ON CONFLICT DO NOTHING",
            )
            .bind(directory_ids)
            .bind(directory_emails),
        )
        .await?;

    let mut rng = demo_rng("employer/jobs");
    let jobs: Vec<u64> = (0..world.jobs).collect();
    for chunk in jobs.chunks(CHUNK) {
        let mut ids: Vec<Uuid> = Vec::with_capacity(chunk.len());
        let mut organizations = Vec::with_capacity(chunk.len());
        let mut posters = Vec::with_capacity(chunk.len());
        let mut titles = Vec::with_capacity(chunk.len());
        let mut descriptions = Vec::with_capacity(chunk.len());
        let mut locations = Vec::with_capacity(chunk.len());
        let mut remotes = Vec::with_capacity(chunk.len());
        let mut types = Vec::with_capacity(chunk.len());
        let mut minimums: Vec<Option<i32>> = Vec::with_capacity(chunk.len());
        let mut maximums: Vec<Option<i32>> = Vec::with_capacity(chunk.len());
        let mut currencies: Vec<Option<String>> = Vec::with_capacity(chunk.len());
        let mut statuses = Vec::with_capacity(chunk.len());
        let mut posted = Vec::with_capacity(chunk.len());
        for &job in chunk {
            let title = TITLES[rng.gen_range(0..TITLES.len())];
            ids.push(world.job_id(job));
            organizations.push(world.organization_id(world.job_organization(job)));
            posters.push(world.user_id(world.job_poster(job)));
            titles.push(title.to_owned());
            descriptions.push(format!(
                "We are looking for a {} to join a small, senior team. You will own features end to end.",
                title.to_lowercase()
            ));
            locations.push(LOCATIONS[rng.gen_range(0..LOCATIONS.len())].to_owned());
            remotes.push(rng.gen_bool(0.4));
            types.push(
                EmploymentType::ALL[rng.gen_range(0..EmploymentType::ALL.len())]
                    .as_str()
                    .to_owned(),
            );
            if rng.gen_bool(0.8) {
                let minimum = rng.gen_range(35..120) * 1_000;
                minimums.push(Some(minimum));
                maximums.push(Some(minimum + rng.gen_range(5..60) * 1_000));
                currencies.push(Some(
                    CURRENCIES[rng.gen_range(0..CURRENCIES.len())].to_owned(),
                ));
            } else {
                minimums.push(None);
                maximums.push(None);
                currencies.push(None);
            }
            statuses.push(
                if world.job_is_closed(job) {
                    "CLOSED"
                } else {
                    "OPEN"
                }
                .to_owned(),
            );
            posted.push(world.timestamp(0, job, world.jobs));
        }
        inserted += database
            .execute(
                sqlx::query(
                    "INSERT INTO jobs (id, organization_id, posted_by, title, description, location, remote, employment_type, \
                                       salary_min, salary_max, salary_currency, status, posted_at, updated_at) \
                     SELECT *, t.posted_at FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], \
                         $7::boolean[], $8::text[], $9::int[], $10::int[], $11::text[], $12::text[], $13::timestamptz[]) \
                         AS t(id, organization_id, posted_by, title, description, location, remote, employment_type, \
                              salary_min, salary_max, salary_currency, status, posted_at) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(ids)
                .bind(organizations)
                .bind(posters)
                .bind(titles)
                .bind(descriptions)
                .bind(locations)
                .bind(remotes)
                .bind(types)
                .bind(minimums)
                .bind(maximums)
                .bind(currencies)
                .bind(statuses)
                .bind(posted),
            )
            .await?;
    }
    Ok(inserted)
}
