//! The one table of rate limits: every operation a client sends falls in
//! one class, and each class has its limit, its sliding window and what
//! its key is made of.
//!
//! A mutation's class comes from its root field (each root mutation field
//! belongs to one subgraph, so it is counted once, where it runs); a query
//! is a page read, counted at the subgraph its root fields ask, once per
//! operation. The router's own fetches for an operation it already sent
//! (`_entities`, `_service`) are not counted again.

use std::time::Duration;

/// What a class's windows are kept per.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyBy {
    /// The signed-in user; the client's address when nobody is signed in.
    Caller,
    /// The organization the operation acts for (its `organizationId`
    /// argument, or its `input`'s), when the caller recruits for it, so
    /// that an organization's recruiters share one budget; otherwise the
    /// caller, so nobody can spend another organization's budget.
    OrganizationActedFor,
}

/// A class of operations and its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationClass {
    /// The class's name in keys, metrics and logs.
    pub name: &'static str,
    /// Operations admitted per key within `window`.
    pub limit: u32,
    pub window: Duration,
    pub key_by: KeyBy,
}

const fn class(name: &'static str, limit: u32, seconds: u64, key_by: KeyBy) -> OperationClass {
    OperationClass {
        name,
        limit,
        window: Duration::from_secs(seconds),
        key_by,
    }
}

/// Creating accounts: per client address (nobody is signed in yet).
pub const ACCOUNT_CREATION: OperationClass = class("account_creation", 20, 3_600, KeyBy::Caller);
/// Signing in, refreshing and signing out; failed sign-ins have their own
/// stricter limits in auth (per account and address).
pub const SESSIONS: OperationClass = class("sessions", 60, 60, KeyBy::Caller);
/// Changing an organization and its recruiters.
pub const ORGANIZATION_ADMINISTRATION: OperationClass = class(
    "organization_administration",
    30,
    60,
    KeyBy::OrganizationActedFor,
);
/// Posting and changing jobs.
pub const JOB_POSTINGS: OperationClass = class("job_postings", 30, 60, KeyBy::OrganizationActedFor);
/// Buying credits and changing plans: money moves.
pub const PAYMENTS: OperationClass = class("payments", 10, 60, KeyBy::OrganizationActedFor);
/// Applying and withdrawing.
pub const APPLICATIONS: OperationClass = class("applications", 30, 60, KeyBy::Caller);
/// A jobseeker's own profile and saved jobs.
pub const PROFILE_CHANGES: OperationClass = class("profile_changes", 60, 60, KeyBy::Caller);
/// Every other mutation.
pub const OTHER_WRITES: OperationClass = class("other_writes", 60, 60, KeyBy::Caller);
/// Page reads: every query.
pub const PAGE_READS: OperationClass = class("page_reads", 600, 60, KeyBy::Caller);

/// Root mutation fields and their classes; a field not listed is
/// [`OTHER_WRITES`].
pub const MUTATION_CLASSES: &[(&str, OperationClass)] = &[
    ("signUp", ACCOUNT_CREATION),
    ("signIn", SESSIONS),
    ("refreshSession", SESSIONS),
    ("signOut", SESSIONS),
    ("updateOrganization", ORGANIZATION_ADMINISTRATION),
    ("addRecruiter", ORGANIZATION_ADMINISTRATION),
    ("removeRecruiter", ORGANIZATION_ADMINISTRATION),
    ("postJob", JOB_POSTINGS),
    ("updateJob", JOB_POSTINGS),
    ("closeJob", JOB_POSTINGS),
    ("purchaseJobCredits", PAYMENTS),
    ("changePlan", PAYMENTS),
    ("applyToJob", APPLICATIONS),
    ("applyToInternship", APPLICATIONS),
    ("withdrawApplication", APPLICATIONS),
    ("saveJob", PROFILE_CHANGES),
    ("unsaveJob", PROFILE_CHANGES),
    ("updateJobseekerProfile", PROFILE_CHANGES),
];

/// Every class, for the README's table.
pub const ALL_CLASSES: [OperationClass; 9] = [
    ACCOUNT_CREATION,
    SESSIONS,
    ORGANIZATION_ADMINISTRATION,
    JOB_POSTINGS,
    PAYMENTS,
    APPLICATIONS,
    PROFILE_CHANGES,
    OTHER_WRITES,
    PAGE_READS,
];

/// The class of a root mutation field.
pub fn mutation_class(root_field: &str) -> OperationClass {
    MUTATION_CLASSES
        .iter()
        .find(|(field, _)| *field == root_field)
        .map_or(OTHER_WRITES, |(_, class)| *class)
}

/// The README's table of classes: one row per class, with the root
/// mutation fields it holds.
pub fn markdown() -> String {
    let mut table =
        String::from("| class | limit | window | key | operations |\n|---|---|---|---|---|\n");
    for class in ALL_CLASSES {
        let key = match class.key_by {
            KeyBy::Caller => "the user; the client address when signed out",
            KeyBy::OrganizationActedFor => {
                "the organization acted for (its recruiters share it); else the caller"
            }
        };
        let fields: Vec<String> = MUTATION_CLASSES
            .iter()
            .filter(|(_, listed)| *listed == class)
            .map(|(field, _)| format!("`{field}`"))
            .collect();
        let operations = if class == PAGE_READS {
            "every query, once per subgraph its root fields ask (the router's `_entities` fetches are free)".to_owned()
        } else if class == OTHER_WRITES {
            "every mutation not listed".to_owned()
        } else {
            fields.join(", ")
        };
        let window = if class.window.as_secs() % 3_600 == 0 {
            format!("{} h", class.window.as_secs() / 3_600)
        } else {
            format!("{} s", class.window.as_secs())
        };
        table.push_str(&format!(
            "| `{}` | {} | {window} | {key} | {operations} |\n",
            class.name, class.limit
        ));
    }
    table
}
