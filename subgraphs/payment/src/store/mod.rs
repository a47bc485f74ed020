//! Every SQL statement of the payment subgraph, one module per aggregate:
//! plans, credits, charges (with the invoices they settle), the ledger and
//! the provider's events. The loaders' statements are here.
//!
//! Each table's column list is written once (`invoice_columns!`,
//! `plan_columns!`, `billing_columns!`), and every statement that returns
//! such rows is built from it at compile time.

use talentgraph_kit::child_page_sql;
use talentgraph_kit::entity_cache::{CacheTier, CachedEntity};

/// The `invoices` columns an [`Invoice`] is read from.
macro_rules! invoice_columns {
    () => {
        "id, organization_id, number, status, currency, total_cents, description, issued_at, due_at, paid_at, failure_reason"
    };
}

/// The `plans` columns a [`Plan`] is read from.
macro_rules! plan_columns {
    () => {
        "code, name, monthly_price_cents, included_job_credits, verified_badge"
    };
}

mod charges;
mod credits;
mod ledger;
mod plans;
mod provider_events;

pub use charges::{
    ChargeState, awaits_charge, lock_invoice_for_charge, mark_payment_error, settle_invoice_failed,
    settle_invoice_paid,
};
pub use credits::{
    CREDIT_PRICE_CENTS, CreditPurchase, MAX_CREDITS_PER_PURCHASE, PostingCharge,
    consume_credit_for_job, purchase_job_credits, purchase_total_cents,
};
pub use ledger::{LedgerTransaction, ledger_violations, write_ledger_transaction};
pub use plans::{PlanPayment, change_plan, plans};
pub use provider_events::record_provider_event;

pub const BILLING_BY_ORGANIZATION: &str = "SELECT s.organization_id, p.code, p.name, p.monthly_price_cents, \
       p.included_job_credits, p.verified_badge, s.status, s.current_period_end, COALESCE(b.job_credits, 0) AS job_credits \
     FROM subscriptions s JOIN plans p ON p.code = s.plan_code \
     LEFT JOIN credit_balances b ON b.organization_id = s.organization_id \
     WHERE s.organization_id = ANY($1)";

/// The badge needs an active plan that carries it and at least one paid
/// invoice: choosing a plan is not paying for it.
pub const VERIFIED_BADGE_ORGANIZATIONS: &str = "SELECT s.organization_id FROM subscriptions s \
     JOIN plans p ON p.code = s.plan_code \
     WHERE s.organization_id = ANY($1) AND s.status = 'ACTIVE' AND p.verified_badge \
       AND EXISTS (SELECT 1 FROM invoices i WHERE i.organization_id = s.organization_id AND i.status = 'PAID')";

pub const INVOICES_BY_ID: &str = concat!(
    "SELECT ",
    invoice_columns!(),
    " FROM invoices WHERE id = ANY($1)"
);

pub const INVOICE_PAGES_BY_ORGANIZATION: &str = child_page_sql!(
    select: invoice_columns!(),
    from: "invoices",
    parent: "organization_id",
    order: ("issued_at", "id"),
);

pub const PROMOTIONS_BY_JOB: &str =
    "SELECT job_id, tier, starts_at, ends_at FROM job_promotions WHERE job_id = ANY($1)";

/// Promotions by job are read through the entity cache, and so is their
/// absence: nearly every job on a search page has none, and without
/// remembering that, every page would read them all again. Promotions are
/// written only by the demo data today; a statement that inserts, changes
/// or ends one must invalidate `CACHED_PROMOTION.tag(job_id)` in its
/// transaction. Whether a promotion is running is decided when a page is
/// answered (`ends_at` against the clock), never by what was cached.
pub const CACHED_PROMOTION: CachedEntity = CachedEntity {
    name: "Job.promotion",
    tier: CacheTier::SlowChanging,
    remembers_absence: true,
};
