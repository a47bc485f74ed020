//! The payment subgraph: plans, subscriptions, job-posting credits,
//! invoices, the ledger, idempotent purchases and an outbox. Owns
//! `Invoice`; contributes `Organization.billing`, `Organization.invoices`,
//! `Organization.billingVerified` and `Job.promotion`.
//!
//! Money never moves here: an invoice for a purchase is issued as paid,
//! standing in for a payment provider's confirmation.

pub mod demo;

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{
    ComplexObject, Context, EmptySubscription, ID, InputObject, Object, Schema, SimpleObject,
};
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use talentgraph_kit::database::Transaction;
use talentgraph_kit::loaders::{
    ChildRow, IdentifiedRow, NoFilter, PageKey, PagesByParent, RequestLoader, RowsById, load_by_id,
    parse_id, parse_id_argument,
};
use talentgraph_kit::server::LoaderScope;
use talentgraph_kit::viewer::{RecruiterGuard, RoleGuard};
use talentgraph_kit::{
    Cursor, Database, DatabaseError, ErrorCode, PageArgs, Role, SubgraphConfig, SubgraphDefinition,
    Viewer, client_error, conflict_error, connection_type, input_error, internal_error, text_enum,
};
use uuid::Uuid;

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/payment");

pub static DEFINITION: SubgraphDefinition = SubgraphDefinition {
    name: "payment",
    default_port: 4005,
    migrator: &MIGRATOR,
    build_app,
};

/// The price of one job-posting credit, in euro cents.
pub const CREDIT_PRICE_CENTS: i32 = 4_900;
/// Most credits one purchase may buy.
pub const MAX_CREDITS_PER_PURCHASE: i32 = 500;

/// The one error enum of this crate; not `Display` (see the employer crate).
#[derive(Debug)]
pub enum PaymentError {
    Database(DatabaseError),
    NotSignedIn,
    IdempotencyKeyReused,
    InvalidInput {
        field: &'static str,
        message: String,
    },
}

impl From<DatabaseError> for PaymentError {
    fn from(error: DatabaseError) -> Self {
        Self::Database(error)
    }
}

impl From<PaymentError> for async_graphql::Error {
    fn from(error: PaymentError) -> Self {
        match error {
            PaymentError::Database(error) => internal_error(error),
            PaymentError::NotSignedIn => client_error(
                ErrorCode::Unauthenticated,
                "You must be signed in to do this.",
            ),
            PaymentError::IdempotencyKeyReused => conflict_error(
                "IDEMPOTENCY_KEY_REUSED",
                "This idempotency key was already used for a different request.",
            ),
            PaymentError::InvalidInput { field, message } => input_error(field, message),
        }
    }
}

text_enum! {
    pub enum PlanCode {
        Free => "FREE",
        Starter => "STARTER",
        Growth => "GROWTH",
        Enterprise => "ENTERPRISE",
    }
}

text_enum! {
    pub enum SubscriptionStatus {
        Active => "ACTIVE",
        PastDue => "PAST_DUE",
        Canceled => "CANCELED",
    }
}

text_enum! {
    pub enum InvoiceStatus {
        Open => "OPEN",
        Paid => "PAID",
        Void => "VOID",
    }
}

text_enum! {
    pub enum PromotionTier {
        Featured => "FEATURED",
        Spotlight => "SPOTLIGHT",
    }
}

/// A subscription plan.
#[derive(Debug, Clone, SimpleObject, sqlx::FromRow)]
pub struct Plan {
    #[sqlx(try_from = "String")]
    pub code: PlanCode,
    pub name: String,
    pub monthly_price_cents: i32,
    pub included_job_credits: i32,
    pub verified_badge: bool,
}

/// An organization's billing state.
#[derive(Debug, Clone, SimpleObject, sqlx::FromRow)]
pub struct Billing {
    #[graphql(skip)]
    pub organization_id: Uuid,
    #[sqlx(flatten)]
    pub plan: Plan,
    #[sqlx(try_from = "String")]
    pub status: SubscriptionStatus,
    pub current_period_end: DateTime<Utc>,
    /// Job-posting credits left.
    pub job_credits: i32,
}

impl IdentifiedRow for Billing {
    fn row_id(&self) -> Uuid {
        self.organization_id
    }
}

/// An invoice; amounts are in cents of `currency`.
#[derive(Debug, Clone, SimpleObject, sqlx::FromRow)]
#[graphql(complex)]
pub struct Invoice {
    #[graphql(skip)]
    pub id: Uuid,
    #[graphql(skip)]
    pub organization_id: Uuid,
    pub number: String,
    #[sqlx(try_from = "String")]
    pub status: InvoiceStatus,
    pub currency: String,
    pub total_cents: i32,
    pub description: String,
    pub issued_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
}

impl IdentifiedRow for Invoice {
    fn row_id(&self) -> Uuid {
        self.id
    }
}

impl ChildRow for Invoice {
    fn parent_id(&self) -> Uuid {
        self.organization_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::new(self.issued_at, self.id)
    }
}

#[ComplexObject]
impl Invoice {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    async fn organization(&self) -> Organization {
        Organization {
            id: self.organization_id,
        }
    }
}

/// A paid promotion of a job in search results.
#[derive(Debug, Clone, SimpleObject, sqlx::FromRow)]
pub struct JobPromotion {
    #[graphql(skip)]
    pub job_id: Uuid,
    #[sqlx(try_from = "String")]
    pub tier: PromotionTier,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

impl IdentifiedRow for JobPromotion {
    fn row_id(&self) -> Uuid {
        self.job_id
    }
}

connection_type!(InvoiceConnection, InvoiceEdge, Invoice);

/// Whether each organization has an active plan with the verified badge.
pub struct BadgeLoader {
    database: Database,
    /// The request's span; see `talentgraph_kit::loaders`.
    request_span: tracing::Span,
}

impl Loader<Uuid> for BadgeLoader {
    type Value = bool;
    type Error = async_graphql::Error;

    #[tracing::instrument(name = "dataloader.batch", parent = &self.request_span, skip_all, fields(entity = "Organization.billingVerified", batch_size = keys.len()))]
    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, bool>, Self::Error> {
        talentgraph_kit::metrics::observe_batch("Organization.billingVerified", keys.len());
        let rows: Vec<(Uuid,)> = self
            .database
            .fetch_all(
                sqlx::query_as(
                    "SELECT s.organization_id FROM subscriptions s JOIN plans p ON p.code = s.plan_code \
                     WHERE s.organization_id = ANY($1) AND s.status = 'ACTIVE' AND p.verified_badge",
                )
                .bind(keys),
            )
            .await
            .map_err(internal_error)?;
        let mut badges: HashMap<Uuid, bool> = keys.iter().map(|key| (*key, false)).collect();
        badges.extend(rows.into_iter().map(|(id,)| (id, true)));
        Ok(badges)
    }
}

/// An organization as payment sees it.
pub struct Organization {
    pub id: Uuid,
}

#[Object]
impl Organization {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// Whether the organization pays for a plan with the verified badge;
    /// public, for the badge on organization pages.
    async fn billing_verified(&self, context: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(context
            .data_unchecked::<RequestLoader<BadgeLoader>>()
            .load_one(self.id)
            .await?
            .unwrap_or(false))
    }

    /// Plan, subscription status and credits (the organization's
    /// recruiters and admins).
    #[graphql(guard = "RecruiterGuard::of(self.id)")]
    async fn billing(&self, context: &Context<'_>) -> async_graphql::Result<Option<Billing>> {
        context
            .data_unchecked::<RequestLoader<RowsById<Billing>>>()
            .load_one(self.id)
            .await
    }

    /// Invoices, newest first (the organization's recruiters and admins).
    #[graphql(
        guard = "RecruiterGuard::of(self.id)",
        complexity = "talentgraph_kit::pagination::list_complexity(first, child_complexity)"
    )]
    async fn invoices(
        &self,
        context: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<InvoiceConnection> {
        let page = PageArgs::new(first, after.as_deref())?;
        let rows = context
            .data_unchecked::<RequestLoader<PagesByParent<Invoice>>>()
            .load_one(PageKey {
                parent: self.id,
                page,
                filter: NoFilter,
            })
            .await?
            .unwrap_or_default();
        Ok(InvoiceConnection::from_rows(
            &page,
            rows,
            ChildRow::cursor,
            |row| row,
        ))
    }
}

/// A job as payment sees it.
pub struct Job {
    pub id: Uuid,
}

#[Object]
impl Job {
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }

    /// The job's promotion while it runs; null otherwise.
    async fn promotion(
        &self,
        context: &Context<'_>,
    ) -> async_graphql::Result<Option<JobPromotion>> {
        let promotion = context
            .data_unchecked::<RequestLoader<RowsById<JobPromotion>>>()
            .load_one(self.id)
            .await?;
        let now = Utc::now();
        Ok(promotion.filter(|promotion| promotion.starts_at <= now && now < promotion.ends_at))
    }
}

const BILLING_BY_ORGANIZATION: &str = "SELECT s.organization_id, p.code, p.name, p.monthly_price_cents, \
       p.included_job_credits, p.verified_badge, s.status, s.current_period_end, COALESCE(b.job_credits, 0) AS job_credits \
     FROM subscriptions s JOIN plans p ON p.code = s.plan_code \
     LEFT JOIN credit_balances b ON b.organization_id = s.organization_id \
     WHERE s.organization_id = ANY($1)";
const INVOICE_COLUMNS: &str = "id, organization_id, number, status, currency, total_cents, description, issued_at, due_at, paid_at";
const INVOICES_BY_ID: &str = "SELECT id, organization_id, number, status, currency, total_cents, description, \
     issued_at, due_at, paid_at FROM invoices WHERE id = ANY($1)";
const INVOICE_PAGES_BY_ORGANIZATION: &str = "SELECT page.* FROM UNNEST($1::uuid[]) AS parent(id) CROSS JOIN LATERAL ( \
       SELECT id, organization_id, number, status, currency, total_cents, description, issued_at, due_at, paid_at \
       FROM invoices WHERE organization_id = parent.id AND (issued_at, id) < ($2, $3) \
       ORDER BY issued_at DESC, id DESC LIMIT $4) page";
const PROMOTIONS_BY_JOB: &str =
    "SELECT job_id, tier, starts_at, ends_at FROM job_promotions WHERE job_id = ANY($1)";

fn attach_loaders(
    scope: &LoaderScope<'_>,
    request: async_graphql::Request,
) -> async_graphql::Request {
    let database = scope.database;
    request
        .data(scope.loader(RowsById::<Billing>::new(
            database.clone(),
            "Organization.billing",
            BILLING_BY_ORGANIZATION,
        )))
        .data(scope.loader(BadgeLoader {
            request_span: tracing::Span::current(),
            database: database.clone(),
        }))
        .data(scope.loader(RowsById::<Invoice>::new(
            database.clone(),
            "Invoice",
            INVOICES_BY_ID,
        )))
        .data(scope.loader(PagesByParent::<Invoice>::new(
            database.clone(),
            "Organization.invoices",
            INVOICE_PAGES_BY_ORGANIZATION,
        )))
        .data(scope.loader(RowsById::<JobPromotion>::new(
            database.clone(),
            "Job.promotion",
            PROMOTIONS_BY_JOB,
        )))
}

fn may_read_invoice(viewer: &Viewer, invoice: &Invoice) -> bool {
    viewer.is_recruiter_of(invoice.organization_id) || viewer.is_admin()
}

pub struct Query;

#[Object]
impl Query {
    /// Invoices resolve only for their organization's recruiters and for
    /// admins: anyone else gets null, as if the invoice did not exist.
    #[graphql(entity)]
    async fn find_invoice_by_id(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Invoice>> {
        let viewer = Viewer::of(context);
        if viewer.user_id().is_none() {
            return Ok(None);
        }
        Ok(load_by_id::<Invoice>(context, &id)
            .await?
            .filter(|invoice| may_read_invoice(viewer, invoice)))
    }

    #[graphql(entity)]
    async fn find_organization_by_id(&self, id: ID) -> Option<Organization> {
        parse_id(&id).map(|id| Organization { id })
    }

    #[graphql(entity)]
    async fn find_job_by_id(&self, id: ID) -> Option<Job> {
        parse_id(&id).map(|id| Job { id })
    }

    /// One invoice by id; null unless the viewer recruits for its
    /// organization or is an admin.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Employer, Role::Admin])")]
    async fn invoice(
        &self,
        context: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Invoice>> {
        let id = parse_id_argument("id", &id)?;
        Ok(context
            .data_unchecked::<RequestLoader<RowsById<Invoice>>>()
            .load_one(id)
            .await?
            .filter(|invoice| may_read_invoice(Viewer::of(context), invoice)))
    }

    /// The plans on offer, cheapest first.
    async fn plans(&self, context: &Context<'_>) -> async_graphql::Result<Vec<Plan>> {
        Ok(context
            .data_unchecked::<Database>()
            .fetch_all(sqlx::query_as::<_, Plan>(
                "SELECT code, name, monthly_price_cents, included_job_credits, verified_badge FROM plans ORDER BY monthly_price_cents",
            ))
            .await?)
    }
}

#[derive(Debug, InputObject)]
pub struct PurchaseJobCreditsInput {
    pub organization_id: ID,
    /// 1 to 500 credits.
    pub credits: i32,
}

/// The result of a purchase. `replayed` is true when the idempotency key
/// had already been used for this same request and nothing new happened.
#[derive(Debug, SimpleObject)]
pub struct PurchaseJobCreditsPayload {
    pub invoice: Invoice,
    pub job_credits: i32,
    pub replayed: bool,
}

/// What a purchase costs: the credit price, 10 % off from 10 credits.
pub fn purchase_total_cents(credits: i32) -> i32 {
    let gross = credits.saturating_mul(CREDIT_PRICE_CENTS);
    if credits >= 10 {
        gross - gross / 10
    } else {
        gross
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Buys job-posting credits for an organization the viewer recruits
    /// for. Retrying with the same `idempotencyKey`
    /// returns the first result and charges nothing; reusing a key for a
    /// different request is a CONFLICT (IDEMPOTENCY_KEY_REUSED).
    #[graphql(guard = "RoleGuard::any_of(&[Role::Employer, Role::Admin])")]
    async fn purchase_job_credits(
        &self,
        context: &Context<'_>,
        input: PurchaseJobCreditsInput,
        idempotency_key: String,
    ) -> async_graphql::Result<PurchaseJobCreditsPayload> {
        let organization_id = parse_id_argument("input.organizationId", &input.organization_id)?;
        Viewer::of(context)
            .user_id()
            .ok_or(PaymentError::NotSignedIn)?;
        Viewer::of(context).require_recruiter_of(organization_id, false)?;
        if !(1..=MAX_CREDITS_PER_PURCHASE).contains(&input.credits) {
            return Err(PaymentError::InvalidInput {
                field: "credits",
                message: format!("`credits` must be from 1 to {MAX_CREDITS_PER_PURCHASE}."),
            }
            .into());
        }
        let key = idempotency_key.trim();
        if !(8..=200).contains(&key.len()) {
            return Err(PaymentError::InvalidInput {
                field: "idempotencyKey",
                message: "`idempotencyKey` must be 8 to 200 characters; a UUID is ideal."
                    .to_owned(),
            }
            .into());
        }
        let request_hash = format!("purchaseJobCredits:{organization_id}:{}", input.credits);
        let database = context.data_unchecked::<Database>();
        let mut transaction = database.begin().await?;
        // A concurrent request with the same key waits here on the primary
        // key until the first commits, then sees its stored result.
        let claimed = transaction
            .execute(
                sqlx::query(
                    "INSERT INTO idempotency_keys (organization_id, key, operation, request_hash) \
                     VALUES ($1, $2, 'purchaseJobCredits', $3) ON CONFLICT DO NOTHING",
                )
                .bind(organization_id)
                .bind(key)
                .bind(&request_hash),
            )
            .await
            .map_err(PaymentError::from)?;
        if claimed == 0 {
            return Ok(
                replay_purchase(&mut transaction, organization_id, key, &request_hash).await?,
            );
        }
        let total_cents = purchase_total_cents(input.credits);
        let sql = format!(
            "INSERT INTO invoices (id, organization_id, number, status, currency, total_cents, description, due_at, paid_at) \
             VALUES ($1, $2, 'TG-' || to_char(now(), 'YYYY') || '-' || lpad(nextval('invoice_numbers')::text, 6, '0'), \
                     'PAID', 'EUR', $3, $4, now(), now()) \
             RETURNING {INVOICE_COLUMNS}"
        );
        let invoice = transaction
            .fetch_optional(
                sqlx::query_as::<_, Invoice>(&sql)
                    .bind(Uuid::new_v4())
                    .bind(organization_id)
                    .bind(total_cents)
                    .bind(format!("{} job-posting credits", input.credits)),
            )
            .await
            .map_err(PaymentError::from)?
            .ok_or(PaymentError::IdempotencyKeyReused)?;
        transaction
            .execute(
                sqlx::query(
                    "INSERT INTO ledger_entries (id, organization_id, kind, credits, invoice_id) VALUES ($1, $2, 'PURCHASE', $3, $4)",
                )
                .bind(Uuid::new_v4())
                .bind(organization_id)
                .bind(input.credits)
                .bind(invoice.id),
            )
            .await
            .map_err(PaymentError::from)?;
        let (job_credits,): (i32,) = transaction
            .fetch_optional(
                sqlx::query_as(
                    "INSERT INTO credit_balances (organization_id, job_credits) VALUES ($1, $2) \
                     ON CONFLICT (organization_id) DO UPDATE \
                     SET job_credits = credit_balances.job_credits + EXCLUDED.job_credits, updated_at = now() \
                     RETURNING job_credits",
                )
                .bind(organization_id)
                .bind(input.credits),
            )
            .await
            .map_err(PaymentError::from)?
            .ok_or(PaymentError::IdempotencyKeyReused)?;
        transaction
            .execute(
                sqlx::query("INSERT INTO outbox (topic, payload) VALUES ('payment.job_credits_purchased', $1)").bind(
                    serde_json::json!({
                        "organizationId": organization_id,
                        "invoiceId": invoice.id,
                        "credits": input.credits,
                        "totalCents": total_cents,
                        "currency": "EUR",
                    }),
                ),
            )
            .await
            .map_err(PaymentError::from)?;
        transaction
            .execute(
                sqlx::query(
                    "UPDATE idempotency_keys SET result_invoice_id = $3, result_job_credits = $4 \
                     WHERE organization_id = $1 AND key = $2",
                )
                .bind(organization_id)
                .bind(key)
                .bind(invoice.id)
                .bind(job_credits),
            )
            .await
            .map_err(PaymentError::from)?;
        transaction.commit().await.map_err(PaymentError::from)?;
        Ok(PurchaseJobCreditsPayload {
            invoice,
            job_credits,
            replayed: false,
        })
    }

    /// Moves an organization the viewer recruits for to another plan,
    /// effective now.
    #[graphql(guard = "RoleGuard::any_of(&[Role::Employer, Role::Admin])")]
    async fn change_plan(
        &self,
        context: &Context<'_>,
        organization_id: ID,
        plan: PlanCode,
    ) -> async_graphql::Result<Billing> {
        let organization_id = parse_id_argument("organizationId", &organization_id)?;
        Viewer::of(context).require_recruiter_of(organization_id, false)?;
        let database = context.data_unchecked::<Database>();
        let mut transaction = database.begin().await?;
        transaction
            .execute(
                sqlx::query(
                    "INSERT INTO subscriptions (organization_id, plan_code, status, current_period_end) \
                     VALUES ($1, $2, 'ACTIVE', now() + interval '1 month') \
                     ON CONFLICT (organization_id) DO UPDATE SET plan_code = EXCLUDED.plan_code, status = 'ACTIVE', updated_at = now()",
                )
                .bind(organization_id)
                .bind(plan.as_str()),
            )
            .await
            .map_err(PaymentError::from)?;
        transaction
            .execute(
                sqlx::query(
                    "INSERT INTO outbox (topic, payload) VALUES ('payment.plan_changed', $1)",
                )
                .bind(
                    serde_json::json!({ "organizationId": organization_id, "plan": plan.as_str() }),
                ),
            )
            .await
            .map_err(PaymentError::from)?;
        let billing = transaction
            .fetch_all(
                sqlx::query_as::<_, Billing>(BILLING_BY_ORGANIZATION).bind(vec![organization_id]),
            )
            .await
            .map_err(PaymentError::from)?
            .into_iter()
            .next()
            .ok_or(PaymentError::NotSignedIn)?;
        transaction.commit().await.map_err(PaymentError::from)?;
        Ok(billing)
    }
}

/// Returns the stored result of an idempotency key, or a conflict when the
/// key was used for a different request.
async fn replay_purchase(
    transaction: &mut Transaction,
    organization_id: Uuid,
    key: &str,
    request_hash: &str,
) -> Result<PurchaseJobCreditsPayload, PaymentError> {
    let stored: Option<(String, Option<Uuid>, Option<i32>)> = transaction
        .fetch_optional(
            sqlx::query_as(
                "SELECT request_hash, result_invoice_id, result_job_credits FROM idempotency_keys \
                 WHERE organization_id = $1 AND key = $2",
            )
            .bind(organization_id)
            .bind(key),
        )
        .await?;
    let Some((stored_hash, Some(invoice_id), Some(job_credits))) = stored else {
        return Err(PaymentError::IdempotencyKeyReused);
    };
    if stored_hash != request_hash {
        return Err(PaymentError::IdempotencyKeyReused);
    }
    let invoice = transaction
        .fetch_all(sqlx::query_as::<_, Invoice>(INVOICES_BY_ID).bind(vec![invoice_id]))
        .await?
        .into_iter()
        .next()
        .ok_or(PaymentError::IdempotencyKeyReused)?;
    Ok(PurchaseJobCreditsPayload {
        invoice,
        job_credits,
        replayed: true,
    })
}

pub type PaymentSchema = Schema<Query, Mutation, EmptySubscription>;

/// The executable schema.
pub fn schema(database: Database, config: &SubgraphConfig) -> PaymentSchema {
    talentgraph_kit::graphql::build_schema(Query, Mutation, database, config)
}

/// The federation SDL this subgraph exports (committed as `schema.graphql`).
pub fn exported_sdl() -> String {
    talentgraph_kit::graphql::export_sdl(Query, Mutation)
}

/// The HTTP application as deployed.
pub fn build_app(database: Database, config: &SubgraphConfig) -> axum::Router {
    app(
        database,
        config,
        talentgraph_kit::tokens::jwks_authenticator(&config.tokens),
    )
}

/// The HTTP application with a chosen way of authenticating requests.
pub fn app(
    database: Database,
    config: &SubgraphConfig,
    authenticator: talentgraph_kit::auth::SharedAuthenticator,
) -> axum::Router {
    talentgraph_kit::server::subgraph_app(
        schema(database.clone(), config),
        database,
        config,
        authenticator,
        attach_loaders,
    )
}
