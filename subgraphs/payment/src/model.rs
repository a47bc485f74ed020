//! The GraphQL types of the payment subgraph and their field resolvers.

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use talentgraph_kit::graphql::plain_fields::{PlainFields, PlainObject, PlainSelection};
use talentgraph_kit::guards::RecruiterGuard;
use talentgraph_kit::loaders::{NoFilter, RequestLoaders, load_child_page};
use talentgraph_kit::{connection_type, text_enum};
use uuid::Uuid;

use crate::loaders::Loaders;
use talentgraph_kit::{child_row, identified_row};

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
        Pending => "PENDING",
        Paid => "PAID",
        Failed => "FAILED",
        PaymentError => "PAYMENT_ERROR",
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
    pub status: SubscriptionStatus,
    pub current_period_end: DateTime<Utc>,
    /// Job-posting credits left.
    pub job_credits: i32,
}

identified_row!(Billing, organization_id);

/// An invoice; amounts are in cents of `currency`.
#[derive(Debug, Clone, SimpleObject, sqlx::FromRow)]
#[graphql(complex)]
pub struct Invoice {
    #[graphql(skip)]
    pub id: Uuid,
    #[graphql(skip)]
    pub organization_id: Uuid,
    pub number: String,
    pub status: InvoiceStatus,
    pub currency: String,
    pub total_cents: i32,
    pub description: String,
    pub issued_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    /// Why the charge failed (`FAILED`: the provider's reason for the
    /// person paying) or is stuck (`PAYMENT_ERROR`); null otherwise.
    pub failure_reason: Option<String>,
}

identified_row!(Invoice, id);

child_row!(Invoice, parent: organization_id, cursor: (issued_at, id));

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
#[derive(Debug, Clone, SimpleObject, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct JobPromotion {
    #[graphql(skip)]
    pub job_id: Uuid,
    pub tier: PromotionTier,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

identified_row!(JobPromotion, job_id);

impl PlainFields for JobPromotion {
    fn plain_field(&self, field_name: &str) -> Option<async_graphql::Value> {
        use async_graphql::ScalarType;
        Some(match field_name {
            "tier" => async_graphql::resolver_utils::enum_value(self.tier),
            "startsAt" => self.starts_at.to_value(),
            "endsAt" => self.ends_at.to_value(),
            _ => return None,
        })
    }
}

connection_type!(InvoiceConnection, InvoiceEdge, Invoice);

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
        let loader = &Loaders::of(context).verified_badges;
        Ok(loader.load_one(self.id).await?.unwrap_or(false))
    }

    /// Plan, subscription status and credits (the organization's
    /// recruiters and admins).
    #[graphql(guard = "RecruiterGuard::of(self.id)")]
    async fn billing(&self, context: &Context<'_>) -> async_graphql::Result<Option<Arc<Billing>>> {
        Loaders::of(context)
            .billing_by_organization
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
        let loader = &Loaders::of(context).invoices_of_organization;
        let page = load_child_page(loader, self.id, first, after, NoFilter).await?;
        Ok(InvoiceConnection::from_child_page(page, |invoice| invoice))
    }
}

/// A job as payment sees it.
pub struct Job {
    pub id: Uuid,
    /// The job's promotion when the entity resolver already loaded it for
    /// this fetch, so that `promotion` is a held value (see
    /// [`PlainFields`]).
    pub known_promotion: KnownPromotion,
}

/// What a job knows of its promotion before its fields resolve.
pub enum KnownPromotion {
    /// Not loaded (the fetch did not ask for it, or the load failed): the
    /// `promotion` field loads it, and reports the error if there is one.
    NotLoaded,
    /// Loaded: the promotion running when it was loaded, if any.
    Loaded(Option<Arc<JobPromotion>>),
}

impl Job {
    /// The running promotion of the job `job_id`, through the request's
    /// batched loader.
    pub async fn load_running_promotion(
        loaders: &Loaders,
        job_id: Uuid,
    ) -> async_graphql::Result<Option<Arc<JobPromotion>>> {
        let promotion = loaders.promotions_by_job.load_one(job_id).await?;
        let now = Utc::now();
        Ok(promotion.filter(|promotion| promotion.starts_at <= now && now < promotion.ends_at))
    }
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
    ) -> async_graphql::Result<Option<PlainObject<Arc<JobPromotion>>>> {
        let promotion = match &self.known_promotion {
            KnownPromotion::Loaded(promotion) => promotion.clone(),
            KnownPromotion::NotLoaded => {
                Self::load_running_promotion(Loaders::of(context), self.id).await?
            }
        };
        Ok(promotion.map(PlainObject))
    }
}

/// A search page's jobs arrive here as ten representations asking for
/// `promotion { tier endsAt }`: with the promotion loaded, each job is one
/// pass instead of a field future and a promotion below it.
impl PlainFields for Job {
    fn plain_field(&self, field_name: &str) -> Option<async_graphql::Value> {
        match field_name {
            "id" => Some(async_graphql::Value::String(self.id.to_string())),
            _ => None,
        }
    }

    fn plain_object_field(
        &self,
        field_name: &str,
        selection: &PlainSelection<'_>,
    ) -> Option<async_graphql::Value> {
        match (field_name, &self.known_promotion) {
            ("promotion", KnownPromotion::Loaded(promotion)) => {
                selection.optional_object(promotion.as_ref())
            }
            _ => None,
        }
    }
}

#[derive(Debug, InputObject)]
pub struct PurchaseJobCreditsInput {
    pub organization_id: ID,
    /// 1 to 500 credits.
    pub credits: i32,
    /// The provider's payment method to charge (`pm_…`, from the
    /// provider's card form; test cards: `pm_card_visa` pays,
    /// `pm_card_chargeCustomerFail` is declined).
    pub payment_method: String,
}

/// The result of a purchase. `replayed` is true when the idempotency key
/// had already been used for this same request and nothing new happened.
#[derive(Debug, SimpleObject)]
pub struct PurchaseJobCreditsPayload {
    pub invoice: Invoice,
    pub job_credits: i32,
    pub replayed: bool,
}

/// The result of a plan change: the billing as it is now (a paid change is
/// not in force until `invoice` is `PAID`) and the invoice to pay, null
/// when the change cost nothing. `replayed` as for purchases.
#[derive(Debug, SimpleObject)]
pub struct ChangePlanPayload {
    pub billing: Billing,
    pub invoice: Option<Invoice>,
    pub replayed: bool,
}
