//! How the pool that serves requests is set up: its size and timeouts, and
//! the session settings every connection gets.

use std::time::Duration;

/// How the pool that serves requests is set up (from the configuration's
/// `DATABASE_*` variables).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServingPool {
    pub max_connections: u32,
    /// How long a request waits for a connection.
    pub acquire_timeout: Duration,
    /// PostgreSQL's `statement_timeout` on every connection.
    pub statement_timeout: Duration,
    /// A connection idle at least this long is pinged before it is handed
    /// out, so one the server or the network dropped is replaced instead of
    /// failing a request. Zero pings every connection on every hand-out
    /// (sqlx's default), one extra round trip per statement, and then no
    /// connection is kept between statements either.
    pub check_idle_after: Duration,
    /// Whether a connection whose statement ran to its end goes straight
    /// to the next statement instead of back to sqlx's pool, which pings
    /// every connection it takes back (see
    /// `database/kept_connections.rs`).
    pub keep_connections: bool,
    /// PostgreSQL's `random_page_cost` on every connection.
    pub random_page_cost: RandomPageCost,
    /// PostgreSQL's `plan_cache_mode` on every connection.
    pub plan_cache_mode: PlanCacheMode,
}

/// Whether PostgreSQL plans a prepared statement anew for the values of
/// each call or keeps one plan for any values (`plan_cache_mode`).
///
/// Every statement a subgraph runs is prepared once per connection and
/// then run thousands of times with other keys. In PostgreSQL's `auto`, it
/// plans the first five calls for their values, then keeps planning per
/// call whenever that plan looks cheaper than the one for any values (the
/// generic plan). For a batched lookup of a single key it always does,
/// because the generic plan prices an array of unknown length as ten keys;
/// and single keys are what a viewer's own page asks for (an account, a
/// profile, the saved jobs of one user). Under JobseekerDashboardPage,
/// `pg_stat_statements` counted 1,106 plans in 1,103 calls for seven of the
/// page's ten statements, each plan 0.04–0.12 ms against 0.02–0.05 ms of
/// execution: planning was 60 % of those statements' time. The subgraphs'
/// statements are key lookups, keyed pages and searches written per filter
/// combination, whose best plan does not depend on the values, so
/// `force_generic_plan` plans each once per connection. A statement that
/// filters a skewed column by a parameter would want `auto` back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanCacheMode {
    /// PostgreSQL's default: it decides per statement, as described above.
    Auto,
    /// One plan per prepared statement and connection, for any values.
    ForceGenericPlan,
    /// A plan for the values of every call.
    ForceCustomPlan,
}

impl PlanCacheMode {
    /// What a configuration value must look like, for error messages.
    pub const EXPECTED: &'static str = "auto, force_generic_plan or force_custom_plan";

    /// The setting's value as PostgreSQL spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::ForceGenericPlan => "force_generic_plan",
            Self::ForceCustomPlan => "force_custom_plan",
        }
    }
}

impl std::str::FromStr for PlanCacheMode {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::Auto, Self::ForceGenericPlan, Self::ForceCustomPlan]
            .into_iter()
            .find(|mode| mode.as_str() == text)
            .ok_or(())
    }
}

/// What PostgreSQL's planner charges for reading a page out of order, the
/// step of an index lookup, relative to a page read in sequence (1.0).
///
/// PostgreSQL's default, 4, models a disk that seeks. The subgraphs' tables
/// are small enough to stay in memory, where an out-of-order read costs
/// about what a sequential one does, and almost every statement a request
/// runs is a batched key lookup (`WHERE job_id = ANY($1)`). Priced at 4, a
/// lookup of ten keys in a table of a few hundred rows looks dearer than
/// reading the whole table, so PostgreSQL scans it: on the demo world's
/// job promotions (715 rows) that is 0.09 ms against 0.02 ms through the
/// primary key. Worse, the plan it keeps for a prepared statement (the
/// generic plan, with the keys unknown) chooses the index and is priced
/// above the scan it plans for the actual keys, so PostgreSQL plans such a
/// statement again on every call. At 1.1 the index wins both ways and the
/// generic plan is kept. (A lookup of a single key would still be planned
/// on every call; [`PlanCacheMode`] is what keeps its plan.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomPageCost(f64);

impl RandomPageCost {
    /// The usual setting for data that lives in memory or on SSDs.
    pub const MEMORY_RESIDENT: Self = Self(1.1);

    /// What a configuration value must look like, for error messages.
    pub const EXPECTED: &'static str = "a number above 0 and at most 1000, such as 1.1";

    /// A cost PostgreSQL accepts and that means something: finite, above
    /// zero, and not beyond any real device (PostgreSQL itself would take
    /// up to 1.8e308).
    pub fn new(cost: f64) -> Option<Self> {
        (cost.is_finite() && cost > 0.0 && cost <= 1000.0).then_some(Self(cost))
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl std::str::FromStr for RandomPageCost {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse::<f64>().ok().and_then(Self::new).ok_or(())
    }
}
