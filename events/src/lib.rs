//! The event catalogue: every event one subgraph tells the others about, as
//! a typed payload with its subject, shared by producer and consumers so
//! neither can drift from the other.
//!
//! An incompatible change to a payload is a new type with a new `VERSION`
//! (and so a new subject); a producer publishes both versions until every
//! consumer reads the new one. Adding an optional field is compatible:
//! consumers ignore fields they do not know.
//!
//! `events/CATALOGUE.md` and `events/schemas/*.json` are generated from
//! [`CATALOGUE`] and checked fresh by this crate's tests.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use talentgraph_kit::events::Event;
use uuid::Uuid;

/// An account was created by signing up. Core creates the user's public
/// profile from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountCreated {
    pub user_id: Uuid,
    /// What the person asked to be called; 1 to 120 characters.
    pub display_name: String,
    /// `JOBSEEKER` or `EMPLOYER` (admins are never created by sign-up).
    pub role: String,
    /// The sign-in address, lower-cased. Employer keeps a directory of
    /// addresses so an organization admin can add a recruiter by e-mail.
    /// Added after the first events were written; an event without it is
    /// still valid v1 (adding an optional field is compatible), so the
    /// consumers treat a missing address as "not in the directory".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Event for AccountCreated {
    const PRODUCER: &'static str = "auth";
    const TYPE: &'static str = "account.created";
    const VERSION: u32 = 1;
}

/// A job was posted. Jobseeker keeps which organization each job belongs
/// to, so it decides who may read a job's applications from its own data
/// rather than from what a request claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobPosted {
    pub job_id: Uuid,
    pub organization_id: Uuid,
    /// The recruiter who posted it.
    pub posted_by: Uuid,
}

impl Event for JobPosted {
    const PRODUCER: &'static str = "employer";
    const TYPE: &'static str = "job.posted";
    const VERSION: u32 = 1;
}

/// An organization bought job credits (the invoice is paid).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobCreditsPurchased {
    pub organization_id: Uuid,
    pub invoice_id: Uuid,
    pub credits: i32,
    pub total_cents: i64,
    /// ISO 4217, such as `EUR`.
    pub currency: String,
}

impl Event for JobCreditsPurchased {
    const PRODUCER: &'static str = "payment";
    const TYPE: &'static str = "job_credits.purchased";
    const VERSION: u32 = 1;
}

/// A purchase was accepted and its invoice needs charging. Payment
/// publishes it to itself: its charge worker is the consumer, so the charge
/// happens after the purchase committed, with retries, and never inside
/// the client's request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChargeRequested {
    pub invoice_id: Uuid,
    pub organization_id: Uuid,
    pub amount_cents: i64,
    /// ISO 4217, such as `EUR`.
    pub currency: String,
    /// The provider's payment method id (`pm_…`).
    pub payment_method: String,
}

impl Event for ChargeRequested {
    const PRODUCER: &'static str = "payment";
    const TYPE: &'static str = "charge.requested";
    const VERSION: u32 = 1;
}

/// An invoice was paid: the provider confirmed the charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoicePaid {
    pub invoice_id: Uuid,
    pub organization_id: Uuid,
    pub total_cents: i64,
    pub currency: String,
    /// The provider's id of the payment (a PaymentIntent id).
    pub provider_payment_id: String,
}

impl Event for InvoicePaid {
    const PRODUCER: &'static str = "payment";
    const TYPE: &'static str = "invoice.paid";
    const VERSION: u32 = 1;
}

/// An invoice's charge was declined (or refused for good).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvoicePaymentFailed {
    pub invoice_id: Uuid,
    pub organization_id: Uuid,
    /// The provider's reason, for the person paying.
    pub reason: String,
}

impl Event for InvoicePaymentFailed {
    const PRODUCER: &'static str = "payment";
    const TYPE: &'static str = "invoice.payment_failed";
    const VERSION: u32 = 1;
}

/// A posted job could not be paid for: the organization had no job credit
/// left. Employer takes the job out of search (`REJECTED`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobPostingRejected {
    pub job_id: Uuid,
    pub organization_id: Uuid,
    /// `NO_JOB_CREDITS`.
    pub reason: String,
}

impl Event for JobPostingRejected {
    const PRODUCER: &'static str = "payment";
    const TYPE: &'static str = "job.posting_rejected";
    const VERSION: u32 = 1;
}

/// An organization's plan changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanChanged {
    pub organization_id: Uuid,
    /// The plan's code: `FREE`, `STARTER`, `GROWTH` or `ENTERPRISE`.
    pub plan: String,
}

impl Event for PlanChanged {
    const PRODUCER: &'static str = "payment";
    const TYPE: &'static str = "plan.changed";
    const VERSION: u32 = 1;
}

/// A job was closed: it takes no more applications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobClosed {
    pub job_id: Uuid,
    pub organization_id: Uuid,
    pub closed_by: Uuid,
}

impl Event for JobClosed {
    const PRODUCER: &'static str = "employer";
    const TYPE: &'static str = "job.closed";
    const VERSION: u32 = 1;
}

/// Someone became a recruiter of an organization. Employer owns membership;
/// auth keeps a projection of it for the `orgs` claim of the tokens it
/// issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecruiterAdded {
    pub organization_id: Uuid,
    pub user_id: Uuid,
    /// Who added them; `None` for the demo data.
    pub added_by: Option<Uuid>,
    /// See [`RecruiterRemoved::membership_version`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership_version: Option<i64>,
}

impl Event for RecruiterAdded {
    const PRODUCER: &'static str = "employer";
    const TYPE: &'static str = "recruiter.added";
    const VERSION: u32 = 1;
}

/// Someone stopped being a recruiter of an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecruiterRemoved {
    pub organization_id: Uuid,
    pub user_id: Uuid,
    pub removed_by: Uuid,
    /// Counts the changes of this (organization, user) membership at
    /// employer, 1 for the first. A consumer applies a change only over an
    /// older one, so an addition redelivered after its removal changes
    /// nothing. Absent from events recorded before it existed (and from the
    /// demo data): such an event applies only to a membership no versioned
    /// change has reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership_version: Option<i64>,
}

impl Event for RecruiterRemoved {
    const PRODUCER: &'static str = "employer";
    const TYPE: &'static str = "recruiter.removed";
    const VERSION: u32 = 1;
}

/// An organization's card changed: the few fields that pages show wherever
/// an organization is mentioned (name, slug, logo, verified mark). Core
/// owns organizations; employer and internship keep a copy of every card so
/// that they answer `Job.organization` and `Internship.organization` with
/// the card in the same fetch (`@provides`) instead of the router asking
/// core for it in another. The demo data announces every organization it
/// creates this way too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationChanged {
    pub organization_id: Uuid,
    pub name: String,
    pub slug: String,
    pub logo_url: Option<String>,
    pub verified: bool,
    /// Grows by one with every change of the organization in core. A copy
    /// keeps the card with the highest revision it has seen, so a card that
    /// arrives late (a redelivery after a newer one) cannot roll it back.
    pub revision: i64,
}

impl Event for OrganizationChanged {
    const PRODUCER: &'static str = "core";
    const TYPE: &'static str = "organization.changed";
    const VERSION: u32 = 1;
}

/// One catalogue entry: an event, who consumes it and for what.
#[derive(Debug, Clone)]
pub struct CatalogueEntry {
    pub subject: String,
    pub producer: &'static str,
    pub event_type: &'static str,
    pub version: u32,
    /// Who produces it, on what occasion.
    pub when: &'static str,
    /// `consumer name (subgraph): effect`.
    pub consumers: &'static [&'static str],
    pub schema: serde_json::Value,
}

fn entry<E: Event>(when: &'static str, consumers: &'static [&'static str]) -> CatalogueEntry {
    let schema = serde_json::to_value(schemars::schema_for!(E)).unwrap_or_default();
    CatalogueEntry {
        subject: E::subject(),
        producer: E::PRODUCER,
        event_type: E::TYPE,
        version: E::VERSION,
        when,
        consumers,
        schema,
    }
}

/// Every event, in the order of the catalogue.
pub fn catalogue() -> Vec<CatalogueEntry> {
    vec![
        entry::<AccountCreated>(
            "`signUp` committed a new account",
            &[
                "core-profiles (core): creates the user's profile (display name, a handle derived from it)",
                "employer-account-directory (employer): records the account's e-mail address, which `addRecruiter` looks people up by",
            ],
        ),
        entry::<RecruiterAdded>(
            "`addRecruiter` (or the demo data) made someone a recruiter",
            &[
                "auth-memberships (auth): adds the organization to the account's memberships, so the next token's `orgs` claim has it",
            ],
        ),
        entry::<RecruiterRemoved>(
            "`removeRecruiter` ended someone's membership",
            &["auth-memberships (auth): removes the organization from the account's memberships"],
        ),
        entry::<JobPosted>(
            "`postJob` committed a new job",
            &[
                "jobseeker-job-ownership (jobseeker): records the job's organization, which `Job.applications` checks recruiters against",
                "payment-job-credits (payment): consumes one of the organization's job credits for the job, or rejects the posting when none is left",
            ],
        ),
        entry::<JobClosed>(
            "`closeJob` closed a job",
            &[
                "jobseeker-job-ownership (jobseeker): marks the job closed, so `applyToJob` refuses it (`JOB_CLOSED`)",
            ],
        ),
        entry::<ChargeRequested>(
            "`purchaseJobCredits` (or `changePlan` to a dearer plan) accepted a purchase; the invoice is `PENDING`",
            &[
                "payment-charges (payment): charges the invoice at the provider, then marks it `PAID` (ledger, credits) or `FAILED`",
            ],
        ),
        entry::<InvoicePaid>("the provider confirmed an invoice's charge", &[]),
        entry::<InvoicePaymentFailed>("the provider declined an invoice's charge", &[]),
        entry::<JobPostingRejected>(
            "a posted job's organization had no job credit left",
            &[
                "employer-posting-rejections (employer): marks the job `REJECTED`, out of search",
                "jobseeker-rejected-postings (jobseeker): the job takes no applications (`JOB_CLOSED`)",
            ],
        ),
        entry::<JobCreditsPurchased>("a credit purchase's invoice was paid", &[]),
        entry::<PlanChanged>("`changePlan` committed a new plan", &[]),
        entry::<OrganizationChanged>(
            "`updateOrganization` changed an organization's card; also once per organization from the demo data that creates it and from the migration that introduced the copies",
            &[
                "employer-organization-cards (employer): keeps the card, which `Job.organization` and `User.recruiterAt` provide",
                "internship-organization-cards (internship): keeps the card, which `Internship.organization` provides",
            ],
        ),
    ]
}

/// The text of `events/CATALOGUE.md`.
pub fn catalogue_markdown() -> String {
    let mut text = String::from(
        "# Event catalogue\n\n\
         Generated from `events/src/lib.rs` by `cargo run -p talentgraph-events --bin write-catalogue`;\n\
         a test fails when this file or `events/schemas/` is stale.\n\n\
         Every event travels in the envelope `{id, type, version, occurredAt, producer, data}`\n\
         (`id` is the JetStream message id and the consumers' inbox key) on the subject\n\
         `talentgraph.<producer>.<type>.v<version>`, in the producer's stream `TALENTGRAPH_<PRODUCER>`.\n\n\
         | subject | produced when | consumers | payload schema |\n|---|---|---|---|\n",
    );
    for entry in catalogue() {
        text.push_str(&format!(
            "| `{}` | {} | {} | [`schemas/{}.json`](schemas/{}.json) |\n",
            entry.subject,
            entry.when,
            if entry.consumers.is_empty() {
                "none yet (published for other systems)".to_owned()
            } else {
                entry.consumers.join("; ")
            },
            entry.subject,
            entry.subject
        ));
    }
    text
}

/// `events/schemas/<subject>.json`, as (file name, pretty JSON with keys
/// sorted, so the text does not depend on whether some crate in the build
/// turned on serde_json's insertion order).
pub fn schema_files() -> Vec<(String, String)> {
    catalogue()
        .into_iter()
        .map(|entry| {
            (
                format!("{}.json", entry.subject),
                format!(
                    "{}\n",
                    serde_json::to_string_pretty(&sorted_keys(entry.schema)).unwrap_or_default()
                ),
            )
        })
        .collect()
}

/// The same JSON with every object's keys in sorted order.
fn sorted_keys(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(String, serde_json::Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key, sorted_keys(value)))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sorted_keys).collect())
        }
        other => other,
    }
}
