//! Seeds payment's part of the demo world: a subscription, a credit balance
//! and three invoices for every organization, and promotions for some jobs.

use talentgraph_demo_world::DemoWorld;
use talentgraph_kit::{Database, DatabaseError};

use crate::model::PlanCode;

/// Inserts payment's demo rows; returns how many rows were new.
#[tracing::instrument(skip_all)]
pub async fn seed(database: &Database, world: &DemoWorld) -> Result<u64, DatabaseError> {
    let mut organizations = Vec::new();
    let mut plans = Vec::new();
    let mut credits = Vec::new();
    let mut invoice_ids = Vec::new();
    let mut invoice_organizations = Vec::new();
    let mut numbers = Vec::new();
    let mut totals = Vec::new();
    let mut issued = Vec::new();
    for organization in 0..world.organizations {
        let id = world.organization_id(organization);
        organizations.push(id);
        plans.push(
            PlanCode::ALL[usize::try_from(organization % 4).unwrap_or_default()]
                .as_str()
                .to_owned(),
        );
        // Every twentieth organization (the 16th, the 36th, …) has no
        // credit left, so a posting of theirs is rejected; the demo
        // recruiter's (the first) has five.
        credits.push(i32::try_from((organization + 5) % 20).unwrap_or_default());
        for month in 0..3 {
            let index = organization * 3 + month;
            invoice_ids.push(world.invoice_id(index));
            invoice_organizations.push(id);
            numbers.push(format!("TG-DEMO-{index:06}"));
            totals.push(i32::try_from((organization % 4) * 10_000 + 4_900).unwrap_or_default());
            issued.push(world.timestamp(
                -60 * 24 * 30 * i64::try_from(month).unwrap_or_default(),
                organization,
                world.organizations,
            ));
        }
    }
    let mut inserted = database
        .execute(
            sqlx::query(
                "INSERT INTO subscriptions (organization_id, plan_code, status, current_period_end) \
                 SELECT o, p, 'ACTIVE', timestamptz '2027-12-01' FROM UNNEST($1::uuid[], $2::text[]) AS x(o, p) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&organizations)
            .bind(plans),
        )
        .await?;
    // Each seeded balance comes with the ledger transaction that explains
    // it (a grant), so the ledger's invariants hold for the demo data too.
    inserted += database
        .execute(
            sqlx::query(
                "WITH balances AS ( \
                     INSERT INTO credit_balances (organization_id, job_credits) \
                     SELECT * FROM UNNEST($1::uuid[], $2::int[]) \
                     ON CONFLICT DO NOTHING RETURNING organization_id, job_credits), \
                 grants AS (SELECT organization_id, job_credits, gen_random_uuid() AS transaction_id \
                            FROM balances WHERE job_credits <> 0) \
                 INSERT INTO ledger_entries (id, transaction_id, organization_id, kind, account, credits) \
                 SELECT gen_random_uuid(), transaction_id, organization_id, 'GRANT', side.account, side.credits \
                 FROM grants, LATERAL (VALUES ('organization', job_credits), ('platform:grants', -job_credits)) \
                      AS side(account, credits)",
            )
            .bind(&organizations)
            .bind(credits),
        )
        .await?;
    inserted += database
        .execute(
            sqlx::query(
                "INSERT INTO invoices (id, organization_id, number, status, currency, total_cents, description, issued_at, due_at, paid_at) \
                 SELECT i, o, n, 'PAID', 'EUR', t, 'Monthly subscription', s, s + interval '14 days', s + interval '2 days' \
                 FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::timestamptz[]) AS x(i, o, n, t, s) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(invoice_ids)
            .bind(invoice_organizations)
            .bind(numbers)
            .bind(totals)
            .bind(issued),
        )
        .await?;
    let mut promoted_jobs = Vec::new();
    let mut promoted_organizations = Vec::new();
    let mut tiers = Vec::new();
    for job in (0..world.jobs).filter(|job| job % 7 == 0) {
        promoted_jobs.push(world.job_id(job));
        promoted_organizations.push(world.organization_id(world.job_organization(job)));
        tiers.push(
            if job % 14 == 0 {
                "SPOTLIGHT"
            } else {
                "FEATURED"
            }
            .to_owned(),
        );
    }
    inserted += database
        .execute(
            sqlx::query(
                "INSERT INTO job_promotions (job_id, organization_id, tier, starts_at, ends_at) \
                 SELECT j, o, t, timestamptz '2026-01-01', timestamptz '2030-01-01' \
                 FROM UNNEST($1::uuid[], $2::uuid[], $3::text[]) AS x(j, o, t) ON CONFLICT DO NOTHING",
            )
            .bind(promoted_jobs)
            .bind(promoted_organizations)
            .bind(tiers),
        )
        .await?;
    Ok(inserted)
}
