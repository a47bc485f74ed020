//! Seeds jobseeker's part of the demo world: profiles, applications, saved jobs.

use rand::Rng;
use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::demo::demo_rng;
use talentgraph_kit::{Database, DatabaseError};

use crate::model::ApplicationStatus;

const TITLES: &[&str] = &[
    "Backend Engineer",
    "Data Scientist",
    "Product Designer",
    "SRE",
    "Frontend Developer",
];
const LOCATIONS: &[&str] = &["Berlin", "Remote", "Lisbon", "Toronto", "London"];
const CHUNK: u64 = 4_000;

/// Inserts jobseeker's demo rows; returns how many rows were new.
#[tracing::instrument(skip_all)]
pub async fn seed(database: &Database, world: &DemoWorld) -> Result<u64, DatabaseError> {
    let mut rng = demo_rng("jobseeker/profiles");
    let mut users = Vec::new();
    let mut open = Vec::new();
    let mut titles = Vec::new();
    let mut locations = Vec::new();
    let mut years = Vec::new();
    for user in (world.first_jobseeker()..world.users).filter(|user| world.is_jobseeker(*user)) {
        users.push(world.user_id(user));
        open.push(rng.gen_bool(0.8));
        titles.push(TITLES[rng.gen_range(0..TITLES.len())].to_owned());
        locations.push(LOCATIONS[rng.gen_range(0..LOCATIONS.len())].to_owned());
        years.push(rng.gen_range(0..30));
    }
    let mut inserted = database
        .execute(
            sqlx::query(
                "INSERT INTO jobseeker_profiles (user_id, open_to_work, desired_titles, desired_locations, years_of_experience, resume_url) \
                 SELECT u, o, ARRAY[t], ARRAY[l], y, 'https://resumes.talentgraph.dev/' || u || '.pdf' \
                 FROM UNNEST($1::uuid[], $2::boolean[], $3::text[], $4::text[], $5::int[]) AS x(u, o, t, l, y) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&users)
            .bind(open)
            .bind(titles)
            .bind(locations)
            .bind(years),
        )
        .await?;

    let mut rng = demo_rng("jobseeker/applications");
    let mut start = 0;
    while start < world.applications {
        let end = (start + CHUNK).min(world.applications);
        let mut ids = Vec::new();
        let mut jobs = Vec::new();
        let mut applicants = Vec::new();
        let mut statuses = Vec::new();
        let mut letters = Vec::new();
        let mut applied = Vec::new();
        for index in start..end {
            let (job, applicant) = world.application(index);
            ids.push(world.application_id(index));
            jobs.push(world.job_id(job));
            applicants.push(world.user_id(applicant));
            statuses.push(
                ApplicationStatus::ALL[rng.gen_range(0..ApplicationStatus::ALL.len())]
                    .as_str()
                    .to_owned(),
            );
            letters.push(format!(
                "I would love to work on this; application number {index}."
            ));
            // Applications come after the job was posted.
            applied.push(world.timestamp(0, job, world.jobs).max(world.timestamp(
                -60 * 24 * 30,
                index,
                world.applications,
            )));
        }
        inserted += database
            .execute(
                sqlx::query(
                    "INSERT INTO applications (id, job_id, applicant_id, status, cover_letter, applied_at, updated_at) \
                     SELECT *, t.applied_at FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[]) \
                         AS t(id, job_id, applicant_id, status, cover_letter, applied_at) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(ids)
                .bind(jobs)
                .bind(applicants)
                .bind(statuses)
                .bind(letters)
                .bind(applied),
            )
            .await?;
        start = end;
    }

    let mut saved_users = Vec::new();
    let mut saved_jobs = Vec::new();
    for (position, user) in users.iter().enumerate() {
        for offset in 0..3_u64 {
            saved_users.push(*user);
            saved_jobs.push(world.job_id((position as u64 * 17 + offset * 101) % world.jobs));
        }
    }
    inserted += database
        .execute(
            sqlx::query(
                "INSERT INTO saved_jobs (user_id, job_id, saved_at) \
                 SELECT u, j, timestamptz '2026-10-01' + (row_number() OVER ()) * interval '1 minute' \
                 FROM UNNEST($1::uuid[], $2::uuid[]) AS x(u, j) ON CONFLICT DO NOTHING",
            )
            .bind(saved_users)
            .bind(saved_jobs),
        )
        .await?;
    // The demo jobs' organizations, as employer's job.posted events would
    // have recorded them: the demo world's rule, which employer's seed
    // follows too.
    let jobs: Vec<_> = (0..world.jobs).map(|job| world.job_id(job)).collect();
    let organizations: Vec<_> = (0..world.jobs)
        .map(|job| world.organization_id(world.job_organization(job)))
        .collect();
    let closed: Vec<bool> = (0..world.jobs)
        .map(|job| world.job_is_closed(job))
        .collect();
    inserted += database
        .execute(
            sqlx::query(
                "INSERT INTO job_organizations (job_id, organization_id, closed_at) \
                 SELECT j, o, CASE WHEN c THEN now() END \
                 FROM UNNEST($1::uuid[], $2::uuid[], $3::boolean[]) AS x(j, o, c) ON CONFLICT DO NOTHING",
            )
            .bind(jobs)
            .bind(organizations)
            .bind(closed),
        )
        .await?;
    Ok(inserted)
}
