//! The drill's data checks: every acknowledged write is in its database
//! exactly once, and every event it caused was applied once by each of its
//! consumers (a sign-up's profile in core and directory entry in employer;
//! a posting's job record in jobseeker and its credit charged, or the
//! posting rejected, by payment; a checkout's one charge at the provider).

use std::time::{Duration, Instant};

use talentgraph_kit::Database;
use uuid::Uuid;

use super::load::{Recording, Write};
use super::stack::DrillStack;

/// How long a consumer may still be applying an event when the checks
/// start (the load has just stopped).
const EVENTS_SETTLE: Duration = Duration::from_secs(10);

/// Each check's description and whether it passed.
pub async fn data_checks(stack: &DrillStack, recording: &Recording) -> Vec<(String, bool)> {
    let databases = Databases::connect(stack).await;
    let mut checks = Vec::new();
    checks.extend(sign_ups(&databases, recording).await);
    checks.extend(applications(&databases, recording).await);
    checks.extend(postings(&databases, recording).await);
    checks.extend(checkouts(stack, &databases, recording).await);
    checks
}

struct Databases {
    auth: Database,
    core: Database,
    employer: Database,
    jobseeker: Database,
    payment: Database,
}

impl Databases {
    async fn connect(stack: &DrillStack) -> Self {
        let connect = |subgraph: &str| {
            let url = stack.database_urls[subgraph].clone();
            async move {
                Database::connect(&url, 2, Duration::from_secs(10))
                    .await
                    .expect("connects for the data checks")
            }
        };
        Self {
            auth: connect("auth").await,
            core: connect("core").await,
            employer: connect("employer").await,
            jobseeker: connect("jobseeker").await,
            payment: connect("payment").await,
        }
    }

    /// The accounts with `email` (one, when the sign-up was kept once).
    async fn users_with_email(&self, email: &str) -> Vec<Uuid> {
        self.auth
            .fetch_all::<(Uuid,)>(
                sqlx::query_as("SELECT user_id FROM accounts WHERE email = $1").bind(email),
            )
            .await
            .expect("reads accounts")
            .into_iter()
            .map(|(user,)| user)
            .collect()
    }
}

async fn sign_ups(databases: &Databases, recording: &Recording) -> Vec<(String, bool)> {
    let (mut count, mut once, mut profiles_once, mut directory_entries_once) =
        (0, true, true, true);
    for write in &recording.acknowledged {
        let Write::SignUp { email } = write else {
            continue;
        };
        count += 1;
        let users = databases.users_with_email(email).await;
        once &= users.len() == 1;
        if let [user] = users.as_slice() {
            profiles_once &= eventually_one(
                &databases.core,
                "SELECT count(*) FROM users WHERE id = $1",
                *user,
            )
            .await;
            directory_entries_once &= eventually_one(
                &databases.employer,
                "SELECT count(*) FROM account_directory WHERE user_id = $1",
                *user,
            )
            .await;
        }
    }
    vec![
        (
            format!("{count} acknowledged sign-ups: each account exists once"),
            once,
        ),
        (
            format!("{count} sign-ups: each `account.created` gave core one profile"),
            profiles_once,
        ),
        (
            format!("{count} sign-ups: each `account.created` gave employer's directory one entry"),
            directory_entries_once,
        ),
    ]
}

async fn applications(databases: &Databases, recording: &Recording) -> Vec<(String, bool)> {
    let (mut count, mut once) = (0, true);
    for write in &recording.acknowledged {
        let Write::Application {
            applicant_email,
            job_id,
        } = write
        else {
            continue;
        };
        count += 1;
        let job: Uuid = job_id.parse().expect("a job id");
        let applications: i64 = match databases.users_with_email(applicant_email).await.as_slice() {
            [user] => databases
                .jobseeker
                .fetch_scalar(
                    sqlx::query_scalar(
                        "SELECT count(*) FROM applications WHERE job_id = $1 AND applicant_id = $2",
                    )
                    .bind(job)
                    .bind(user),
                )
                .await
                .expect("reads applications"),
            _ => 0,
        };
        once &= applications == 1;
    }
    vec![(
        format!("{count} acknowledged applications: each exists once"),
        once,
    )]
}

/// Each acknowledged posting's key made one job, the one the client was
/// answered; its `job.posted` gave jobseeker one job record; and payment
/// acted on it once: one credit consumed, or (no credit left) the posting
/// rejected, which employer applied — never both, never neither.
async fn postings(databases: &Databases, recording: &Recording) -> Vec<(String, bool)> {
    let (mut count, mut once, mut recorded_once, mut charged_once) = (0, true, true, true);
    for write in &recording.acknowledged {
        let Write::Posting {
            idempotency_key,
            job_id,
        } = write
        else {
            continue;
        };
        count += 1;
        let job: Uuid = job_id.parse().expect("a job id");
        let keyed: Vec<(Option<Uuid>,)> = databases
            .employer
            .fetch_all(
                sqlx::query_as("SELECT job_id FROM job_posting_keys WHERE key = $1")
                    .bind(idempotency_key),
            )
            .await
            .expect("reads posting keys");
        let jobs: i64 = databases
            .employer
            .fetch_scalar(sqlx::query_scalar("SELECT count(*) FROM jobs WHERE id = $1").bind(job))
            .await
            .expect("reads jobs");
        once &= keyed == [(Some(job),)] && jobs == 1;
        recorded_once &= eventually_one(
            &databases.jobseeker,
            "SELECT count(*) FROM job_organizations WHERE job_id = $1",
            job,
        )
        .await;
        charged_once &= charged_or_rejected_once(databases, job).await;
    }
    vec![
        (
            format!("{count} acknowledged postings: each idempotency key made one job"),
            once,
        ),
        (
            format!("{count} postings: each `job.posted` gave jobseeker one job record"),
            recorded_once,
        ),
        (
            format!(
                "{count} postings: payment consumed one credit for each, or rejected it (applied by employer), once"
            ),
            charged_once,
        ),
    ]
}

/// Whether payment consumed exactly one credit for `job`, or consumed none
/// and employer holds the job `REJECTED`, within the settling time.
async fn charged_or_rejected_once(databases: &Databases, job: Uuid) -> bool {
    let deadline = Instant::now() + EVENTS_SETTLE;
    loop {
        let consumed: i64 = databases
            .payment
            .fetch_scalar(
                sqlx::query_scalar(
                    "SELECT count(*) FROM ledger_entries \
                     WHERE job_id = $1 AND kind = 'CONSUME' AND account = 'organization'",
                )
                .bind(job),
            )
            .await
            .unwrap_or(-1);
        let status: Option<(String,)> = databases
            .employer
            .fetch_optional(sqlx::query_as("SELECT status FROM jobs WHERE id = $1").bind(job))
            .await
            .unwrap_or(None);
        let rejected = status.is_some_and(|(status,)| status == "REJECTED");
        let settled = (consumed == 1 && !rejected) || (consumed == 0 && rejected);
        if settled || consumed > 1 || Instant::now() > deadline {
            return settled;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn checkouts(
    stack: &DrillStack,
    databases: &Databases,
    recording: &Recording,
) -> Vec<(String, bool)> {
    let keys: Vec<String> = recording
        .acknowledged
        .iter()
        .filter_map(|write| match write {
            Write::Checkout { idempotency_key } => Some(idempotency_key.clone()),
            _ => None,
        })
        .collect();
    let mut once = true;
    for key in &keys {
        let purchases: i64 = databases
            .payment
            .fetch_scalar(
                sqlx::query_scalar("SELECT count(*) FROM idempotency_keys WHERE key = $1")
                    .bind(key),
            )
            .await
            .expect("reads idempotency keys");
        once &= purchases == 1;
    }
    let (paid, charged_once) = checkouts_paid_once(stack, &databases.payment, &keys).await;
    let count = keys.len();
    vec![
        (
            format!("{count} acknowledged checkouts: each idempotency key has one purchase"),
            once,
        ),
        (
            format!("{count} checkouts: each invoice paid within 90 s of the end"),
            paid,
        ),
        (
            format!("{count} checkouts: the provider charged each invoice once"),
            charged_once,
        ),
    ]
}

/// Whether every checkout's invoice came to `PAID` (the charge worker
/// retries through outages), and the provider holds exactly one succeeded
/// charge for each.
async fn checkouts_paid_once(
    stack: &DrillStack,
    payment: &Database,
    keys: &[String],
) -> (bool, bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    let invoices: Vec<(Uuid, String)> = loop {
        let invoices: Vec<(Uuid, String)> = payment
            .fetch_all(
                sqlx::query_as(
                    "SELECT invoices.id, invoices.status FROM idempotency_keys \
                     JOIN invoices ON invoices.id = idempotency_keys.result_invoice_id \
                     WHERE idempotency_keys.key = ANY($1)",
                )
                .bind(keys),
            )
            .await
            .expect("reads the checkouts' invoices");
        let all_paid =
            invoices.len() == keys.len() && invoices.iter().all(|(_, status)| status == "PAID");
        if all_paid || Instant::now() > deadline {
            break invoices;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let paid = invoices.len() == keys.len() && invoices.iter().all(|(_, status)| status == "PAID");
    let Some(provider) = stack.provider.local_provider() else {
        return (paid, false);
    };
    let intents = provider
        .payment_intents()
        .await
        .expect("reads the provider's charges");
    let charged_once = invoices.iter().all(|(invoice, _)| {
        let invoice = invoice.to_string();
        intents
            .iter()
            .filter(|intent| {
                intent.status == "succeeded" && intent.invoice_id() == Some(invoice.as_str())
            })
            .count()
            == 1
    });
    (paid, charged_once)
}

/// Whether `count_sql` for `id` comes to exactly one within the settling
/// time (an event's consumer may still be applying it).
async fn eventually_one(database: &Database, count_sql: &'static str, id: Uuid) -> bool {
    let deadline = Instant::now() + EVENTS_SETTLE;
    loop {
        let count: i64 = database
            .fetch_scalar(sqlx::query_scalar(count_sql).bind(id))
            .await
            .unwrap_or(-1);
        if count == 1 || Instant::now() > deadline {
            return count == 1;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
