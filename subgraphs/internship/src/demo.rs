//! Seeds internship's part of the demo world.

use chrono::{Duration, NaiveDate};
use rand::Rng;
use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::demo::demo_rng;
use talentgraph_kit::{Database, DatabaseError};

use crate::model::{InternshipKind, StipendPeriod};

const TITLES: &[&str] = &[
    "Software Engineering Intern",
    "Data Science Intern",
    "UX Design Intern",
    "Marketing Apprentice",
    "Electrician Apprentice",
    "DevOps Apprentice",
    "Finance Intern",
    "Research Intern",
];
const LOCATIONS: &[&str] = &[
    "Berlin",
    "Lisbon",
    "Toronto",
    "Nairobi",
    "Bangalore",
    "Remote",
];

/// Inserts internship's demo rows; returns how many rows were new.
#[tracing::instrument(skip_all)]
pub async fn seed(database: &Database, world: &DemoWorld) -> Result<u64, DatabaseError> {
    let mut rng = demo_rng("internship/internships");
    let first_start = NaiveDate::from_ymd_opt(2027, 1, 4).unwrap_or_default();
    let count = usize::try_from(world.internships).unwrap_or(usize::MAX);
    let mut ids = Vec::with_capacity(count);
    let mut organizations = Vec::with_capacity(count);
    let mut mentors = Vec::with_capacity(count);
    let mut titles = Vec::with_capacity(count);
    let mut descriptions = Vec::with_capacity(count);
    let mut kinds = Vec::with_capacity(count);
    let mut amounts: Vec<Option<i32>> = Vec::with_capacity(count);
    let mut currencies: Vec<Option<String>> = Vec::with_capacity(count);
    let mut periods: Vec<Option<String>> = Vec::with_capacity(count);
    let mut durations = Vec::with_capacity(count);
    let mut starts = Vec::with_capacity(count);
    let mut deadlines = Vec::with_capacity(count);
    let mut locations = Vec::with_capacity(count);
    let mut remotes = Vec::with_capacity(count);
    let mut created = Vec::with_capacity(count);
    let mut skill_internships = Vec::new();
    let mut skill_ids = Vec::new();
    let mut skill_positions = Vec::new();
    for index in 0..world.internships {
        let kind = if index % 4 == 3 {
            InternshipKind::Apprenticeship
        } else {
            InternshipKind::Internship
        };
        let start = first_start + Duration::weeks(rng.gen_range(0..40));
        ids.push(world.internship_id(index));
        organizations.push(world.organization_id(world.internship_organization(index)));
        mentors.push(world.user_id(world.internship_mentor(index)));
        let title = TITLES[rng.gen_range(0..TITLES.len())];
        titles.push(title.to_owned());
        descriptions.push(format!(
            "A {} with real projects, a mentor and a stipend.",
            title.to_lowercase()
        ));
        kinds.push(kind.as_str().to_owned());
        if rng.gen_bool(0.9) {
            amounts.push(Some(rng.gen_range(8..30) * 100));
            currencies.push(Some("EUR".to_owned()));
            periods.push(Some(StipendPeriod::Month.as_str().to_owned()));
        } else {
            amounts.push(None);
            currencies.push(None);
            periods.push(None);
        }
        durations.push(if kind == InternshipKind::Apprenticeship {
            104
        } else {
            rng.gen_range(8..=26)
        });
        starts.push(start);
        deadlines.push(start - Duration::weeks(4));
        locations.push(LOCATIONS[rng.gen_range(0..LOCATIONS.len())].to_owned());
        remotes.push(rng.gen_bool(0.3));
        created.push(world.timestamp(60 * 24 * 10, index, world.internships));
        for position in 0..3_u64 {
            skill_internships.push(world.internship_id(index));
            skill_ids.push(world.skill_id((index * 3 + position * 7) % world.skills));
            skill_positions.push(i32::try_from(position).unwrap_or_default());
        }
    }
    let mut inserted = database
        .execute(
            sqlx::query(
                "INSERT INTO internships (id, organization_id, mentor_id, title, description, kind, stipend_amount, \
                     stipend_currency, stipend_period, duration_weeks, starts_on, application_deadline, location, remote, created_at) \
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::int[], \
                     $8::text[], $9::text[], $10::int[], $11::date[], $12::date[], $13::text[], $14::boolean[], $15::timestamptz[]) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(ids)
            .bind(organizations)
            .bind(mentors)
            .bind(titles)
            .bind(descriptions)
            .bind(kinds)
            .bind(amounts)
            .bind(currencies)
            .bind(periods)
            .bind(durations)
            .bind(starts)
            .bind(deadlines)
            .bind(locations)
            .bind(remotes)
            .bind(created),
        )
        .await?;
    inserted += database
        .execute(
            sqlx::query(
                "INSERT INTO internship_skills (internship_id, skill_id, position) \
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int[]) ON CONFLICT DO NOTHING",
            )
            .bind(skill_internships)
            .bind(skill_ids)
            .bind(skill_positions),
        )
        .await?;

    // Every fourth jobseeker applied to two internships.
    let mut application_ids = Vec::new();
    let mut application_internships = Vec::new();
    let mut applicants = Vec::new();
    let mut next = 0;
    for user in (world.first_jobseeker()..world.users)
        .filter(|user| world.is_jobseeker(*user) && user % 4 == 0)
    {
        for offset in 0..2 {
            application_ids.push(world.internship_application_id(next));
            application_internships
                .push(world.internship_id((user * 3 + offset * 11) % world.internships));
            applicants.push(world.user_id(user));
            next += 1;
        }
    }
    inserted += database
        .execute(
            sqlx::query(
                "INSERT INTO internship_applications (id, internship_id, applicant_id, motivation, applied_at) \
                 SELECT i, n, a, 'I want to learn from the best.', timestamptz '2026-10-01' + (row_number() OVER ()) * interval '7 minutes' \
                 FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[]) AS x(i, n, a) ON CONFLICT DO NOTHING",
            )
            .bind(application_ids)
            .bind(application_internships)
            .bind(applicants),
        )
        .await?;
    Ok(inserted)
}
