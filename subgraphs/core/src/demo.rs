//! Seeds core's part of the demo world: users, organizations, skills.
//!
//! Rows are inserted in bulk with `UNNEST` and `ON CONFLICT DO NOTHING`,
//! and every value is derived from the world's rules and a seeded random
//! stream, so seeding twice leaves the database as seeding once did.

use rand::Rng;
use rand::seq::SliceRandom;
use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::demo::demo_rng;
use talentgraph_kit::{Database, DatabaseError};
use uuid::Uuid;

use crate::model::{Organization, OrganizationSize};

const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Radia",
    "Leslie",
    "Margaret",
    "Dennis",
    "Shafi",
    "Tim",
    "Hedy",
    "John",
    "Katherine",
    "Linus",
    "Guido",
    "Yukihiro",
    "Sophie",
    "Mateo",
    "Amara",
    "Kenji",
    "Priya",
    "Lars",
    "Ines",
    "Omar",
    "Chen",
    "Olga",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Perlman",
    "Lamport",
    "Hamilton",
    "Ritchie",
    "Goldwasser",
    "Berners-Lee",
    "Lamarr",
    "Backus",
    "Johnson",
    "Torvalds",
    "Rossum",
    "Matsumoto",
    "Wilson",
    "Garcia",
    "Okafor",
    "Tanaka",
    "Sharma",
    "Nilsen",
    "Moreau",
    "Haddad",
    "Wei",
    "Petrova",
];
const CITIES: &[&str] = &[
    "Berlin",
    "Lisbon",
    "Toronto",
    "Austin",
    "Nairobi",
    "Bangalore",
    "Singapore",
    "Amsterdam",
    "Remote",
    "London",
    "Madrid",
    "Seoul",
    "Warsaw",
    "Sydney",
    "São Paulo",
];
const ROLES: &[&str] = &[
    "Backend engineer",
    "Frontend engineer",
    "Data scientist",
    "Product designer",
    "Site reliability engineer",
    "Engineering manager",
    "Mobile developer",
    "Security analyst",
    "QA engineer",
    "Technical writer",
];
const COMPANY_WORDS: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Aperture",
    "Massive",
    "Oscorp",
    "Wonka",
    "Gringotts",
    "Monarch",
    "Dunder",
    "Pied",
    "Nakatomi",
];
const COMPANY_SUFFIXES: &[&str] = &[
    "Labs",
    "Systems",
    "Analytics",
    "Health",
    "Robotics",
    "Cloud",
    "Foods",
    "Logistics",
    "Studios",
    "Energy",
];
pub const INDUSTRIES: &[&str] = &[
    "Software",
    "Healthcare",
    "Finance",
    "Education",
    "Manufacturing",
    "Retail",
    "Energy",
    "Media",
];
const SKILL_NAMES: &[&str] = &[
    "Rust",
    "Go",
    "TypeScript",
    "Python",
    "Java",
    "Kotlin",
    "Swift",
    "SQL",
    "PostgreSQL",
    "GraphQL",
    "Kubernetes",
    "Terraform",
    "AWS",
    "GCP",
    "Azure",
    "React",
    "Vue",
    "Svelte",
    "Figma",
    "Machine learning",
    "Statistics",
    "Product management",
    "Technical writing",
    "Security",
    "Networking",
    "Linux",
    "C++",
    "Scala",
    "Elixir",
    "Ruby",
    "Data engineering",
    "Spark",
    "Kafka",
    "Redis",
    "Observability",
    "Accessibility",
    "Testing",
    "Mobile",
    "Embedded",
    "Compilers",
    "Distributed systems",
    "UX research",
    "Marketing",
    "Sales",
    "Finance",
    "Recruiting",
    "Leadership",
    "Mentoring",
    "Public speaking",
    "Negotiation",
    "Excel",
    "Tableau",
    "dbt",
    "Airflow",
    "Docker",
    "Nix",
    "Haskell",
    "OCaml",
    "Zig",
    "WebAssembly",
];

/// Rows per INSERT: large enough to be fast, small enough for parameters.
const CHUNK: usize = 2_000;

/// Inserts core's demo rows; returns how many rows were new.
#[tracing::instrument(skip_all)]
pub async fn seed(database: &Database, world: &DemoWorld) -> Result<u64, DatabaseError> {
    let mut inserted = 0;
    inserted += seed_skills(database, world).await?;
    inserted += seed_users(database, world).await?;
    inserted += seed_organizations(database, world).await?;
    inserted += seed_user_skills(database, world).await?;
    Ok(inserted)
}

fn skill_count(world: &DemoWorld) -> usize {
    usize::try_from(world.skills)
        .unwrap_or(usize::MAX)
        .min(SKILL_NAMES.len())
}

async fn seed_skills(database: &Database, world: &DemoWorld) -> Result<u64, DatabaseError> {
    let count = skill_count(world);
    let ids: Vec<Uuid> = (0..count as u64)
        .map(|index| world.skill_id(index))
        .collect();
    let names: Vec<String> = SKILL_NAMES[..count]
        .iter()
        .map(|name| (*name).to_owned())
        .collect();
    let slugs: Vec<String> = names.iter().map(|name| slugify(name)).collect();
    database
        .execute(
            sqlx::query(
                "INSERT INTO skills (id, name, slug) SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[]) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(ids)
            .bind(names)
            .bind(slugs),
        )
        .await
}

async fn seed_users(database: &Database, world: &DemoWorld) -> Result<u64, DatabaseError> {
    let mut rng = demo_rng("core/users");
    let mut inserted = 0;
    let indexes: Vec<u64> = (0..world.users).collect();
    for chunk in indexes.chunks(CHUNK) {
        let mut ids = Vec::with_capacity(chunk.len());
        let mut handles = Vec::with_capacity(chunk.len());
        let mut names = Vec::with_capacity(chunk.len());
        let mut headlines = Vec::with_capacity(chunk.len());
        let mut locations = Vec::with_capacity(chunk.len());
        let mut avatars = Vec::with_capacity(chunk.len());
        let mut created = Vec::with_capacity(chunk.len());
        for &index in chunk {
            let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
            let last = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
            let role = ROLES[rng.gen_range(0..ROLES.len())];
            ids.push(world.user_id(index));
            handles.push(format!("{}-{index}", slugify(first)));
            names.push(format!("{first} {last}"));
            headlines.push(if world.recruiter_organization(index).is_some() {
                "Technical recruiter".to_owned()
            } else {
                format!("{role} · {} years", rng.gen_range(0..25))
            });
            locations.push(CITIES[rng.gen_range(0..CITIES.len())].to_owned());
            avatars.push(format!("https://avatars.talentgraph.dev/{index}.png"));
            created.push(world.timestamp(60 * 24 * 30, index, world.users));
        }
        inserted += database
            .execute(
                sqlx::query(
                    "INSERT INTO users (id, handle, display_name, headline, location, avatar_url, created_at) \
                     SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[]) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(ids)
                .bind(handles)
                .bind(names)
                .bind(headlines)
                .bind(locations)
                .bind(avatars)
                .bind(created),
            )
            .await?;
    }
    Ok(inserted)
}

async fn seed_organizations(database: &Database, world: &DemoWorld) -> Result<u64, DatabaseError> {
    let mut rng = demo_rng("core/organizations");
    let count = usize::try_from(world.organizations).unwrap_or(usize::MAX);
    let mut ids = Vec::with_capacity(count);
    let mut names = Vec::with_capacity(count);
    let mut slugs = Vec::with_capacity(count);
    let mut abouts = Vec::with_capacity(count);
    let mut industries = Vec::with_capacity(count);
    let mut sizes = Vec::with_capacity(count);
    let mut websites = Vec::with_capacity(count);
    let mut logos = Vec::with_capacity(count);
    let mut verified = Vec::with_capacity(count);
    let mut created = Vec::with_capacity(count);
    for index in 0..world.organizations {
        let word = COMPANY_WORDS[rng.gen_range(0..COMPANY_WORDS.len())];
        let suffix = COMPANY_SUFFIXES[rng.gen_range(0..COMPANY_SUFFIXES.len())];
        let industry = INDUSTRIES[rng.gen_range(0..INDUSTRIES.len())];
        let name = format!("{word} {suffix} {index}");
        let slug = slugify(&name);
        ids.push(world.organization_id(index));
        abouts.push(format!(
            "{name} builds things in {} for customers worldwide.",
            industry.to_lowercase()
        ));
        websites.push(format!("https://{slug}.example.com"));
        logos.push(format!("https://logos.talentgraph.dev/{slug}.png"));
        names.push(name);
        slugs.push(slug);
        industries.push(industry.to_owned());
        sizes.push(
            OrganizationSize::ALL[rng.gen_range(0..OrganizationSize::ALL.len())]
                .as_str()
                .to_owned(),
        );
        verified.push(index % 3 != 0);
        created.push(world.timestamp(60 * 24 * 60, index, world.organizations));
    }
    // Each new organization is announced like a changed one
    // (`organization.changed`, revision 1), so employer's and internship's
    // copies of the cards fill from the events, as they would in production.
    let mut transaction = database.begin().await?;
    let new_organizations: Vec<Organization> = transaction
        .fetch_all(
            sqlx::query_as(
                "INSERT INTO organizations (id, name, slug, about, industry, size, website, logo_url, verified, created_at) \
                 SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
                                      $7::text[], $8::text[], $9::boolean[], $10::timestamptz[]) \
                 ON CONFLICT DO NOTHING \
                 RETURNING id, name, slug, about, industry, size, website, logo_url, verified, created_at",
            )
            .bind(ids)
            .bind(names)
            .bind(slugs)
            .bind(abouts)
            .bind(industries)
            .bind(sizes)
            .bind(websites)
            .bind(logos)
            .bind(verified)
            .bind(created),
        )
        .await?;
    for organization in &new_organizations {
        talentgraph_kit::events::record_event(
            &mut transaction,
            &crate::store::organization_changed(organization, 1),
        )
        .await?;
    }
    transaction.commit().await?;
    Ok(new_organizations.len() as u64)
}

async fn seed_user_skills(database: &Database, world: &DemoWorld) -> Result<u64, DatabaseError> {
    let mut rng = demo_rng("core/user-skills");
    let skills: Vec<u64> = (0..skill_count(world) as u64).collect();
    let mut user_ids = Vec::new();
    let mut skill_ids = Vec::new();
    let mut positions = Vec::new();
    for user in 0..world.users {
        let how_many = rng.gen_range(3..=6);
        let picked: Vec<u64> = skills
            .choose_multiple(&mut rng, how_many)
            .copied()
            .collect();
        for (position, skill) in picked.into_iter().enumerate() {
            user_ids.push(world.user_id(user));
            skill_ids.push(world.skill_id(skill));
            positions.push(i32::try_from(position).unwrap_or(i32::MAX));
        }
    }
    let mut inserted = 0;
    for start in (0..user_ids.len()).step_by(CHUNK * 4) {
        let end = (start + CHUNK * 4).min(user_ids.len());
        inserted += database
            .execute(
                sqlx::query(
                    "INSERT INTO user_skills (user_id, skill_id, position) \
                     SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int[]) ON CONFLICT DO NOTHING",
                )
                .bind(&user_ids[start..end])
                .bind(&skill_ids[start..end])
                .bind(&positions[start..end]),
            )
            .await?;
    }
    Ok(inserted)
}

fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for character in text.chars() {
        if character.is_ascii_alphanumeric() {
            slug.push(character.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}
