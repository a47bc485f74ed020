//! The pages and operations of `pages/` and `operations/`, their committed
//! budgets, and who requests each page with which variables.

use crate::stack::Stack;
use crate::{DemoAccount, WORLD, repository_root};

/// The text of `pages/<name>.graphql`.
pub fn page_document(name: &str) -> String {
    read_document("pages", name)
}

/// The text of `operations/<name>.graphql`: the web client's actions.
pub fn operation_document(name: &str) -> String {
    read_document("operations", name)
}

fn read_document(directory: &str, name: &str) -> String {
    let path = repository_root()
        .join(directory)
        .join(format!("{name}.graphql"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// A page's committed budget from `pages/budgets.json`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PageBudget {
    /// Subgraph GraphQL requests the router makes for the page, exactly.
    pub fetches: u64,
    /// SQL statements the page may cost across all subgraphs, at most.
    pub max_sql_statements: u64,
}

/// Reads `pages/budgets.json`.
pub fn page_budgets() -> std::collections::BTreeMap<String, PageBudget> {
    let path = repository_root().join("pages/budgets.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not valid: {error}", path.display()))
}

/// The pages of `pages/`, in the README's order.
pub const PAGES: [&str; 7] = [
    "JobSearchPage",
    "JobDetailPage",
    "JobseekerDashboardPage",
    "EmployerDashboardPage",
    "InternshipBrowsePage",
    "OrganizationPage",
    "CheckoutPage",
];

/// Who requests a page in the tests and the measurements, and with which
/// variables at a given page size.
pub async fn page_request<'stack>(
    stack: &'stack Stack,
    page: &str,
    page_size: i64,
) -> (Option<&'stack str>, serde_json::Value) {
    let slug: String = stack
        .subgraph("core")
        .database
        .fetch_scalar(
            sqlx::query_scalar("SELECT slug FROM organizations WHERE id = $1")
                .bind(WORLD.organization_id(0)),
        )
        .await
        .expect("reads a slug");
    let (account, variables) = page_variables(page, page_size, &slug);
    (account.map(|account| stack.token(account)), variables)
}

/// Who requests `page` (signed out when `None`) and its variables at
/// `page_size`, in the small world whose first organization has
/// `organization_slug`.
pub fn page_variables(
    page: &str,
    page_size: i64,
    organization_slug: &str,
) -> (Option<DemoAccount>, serde_json::Value) {
    use serde_json::json;
    let jobseeker = Some(DemoAccount::Jobseeker);
    let recruiter = Some(DemoAccount::Recruiter);
    match page {
        "JobSearchPage" => (jobseeker, json!({ "first": page_size })),
        "JobDetailPage" => (
            jobseeker,
            json!({ "jobId": WORLD.job_id(0).to_string(), "internshipsFirst": page_size }),
        ),
        "JobseekerDashboardPage" => (jobseeker, json!({ "first": page_size })),
        "EmployerDashboardPage" => (
            recruiter,
            json!({ "jobsFirst": page_size, "applicationsFirst": 5 }),
        ),
        "InternshipBrowsePage" => (None, json!({ "first": page_size })),
        "OrganizationPage" => (
            jobseeker,
            json!({ "slug": organization_slug, "jobsFirst": page_size, "internshipsFirst": page_size }),
        ),
        "CheckoutPage" => (
            recruiter,
            json!({
                "input": { "organizationId": WORLD.organization_id(0).to_string(), "credits": 3, "paymentMethod": "pm_card_visa" },
                "idempotencyKey": uuid::Uuid::new_v4().to_string(),
            }),
        ),
        other => panic!("unknown page {other}"),
    }
}
