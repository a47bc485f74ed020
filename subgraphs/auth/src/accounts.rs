//! The SQL that reads accounts for the GraphQL layer (sessions and keys
//! keep their own statements in `sessions` and `keys`).

use talentgraph_kit::{Database, PageArgs, Role};

use crate::error::AuthError;
use crate::model::Account;

/// The `accounts` columns an [`Account`] is read from.
macro_rules! account_columns {
    () => {
        "user_id, email, roles, created_at"
    };
}

pub const ACCOUNTS_BY_ID: &str = concat!(
    "SELECT ",
    account_columns!(),
    " FROM accounts WHERE user_id = ANY($1)"
);

/// One page of accounts, newest first, optionally only those with `role`.
pub async fn page_of_accounts(
    database: &Database,
    role: Option<Role>,
    page: &PageArgs,
) -> Result<Vec<Account>, AuthError> {
    let (cursor_at, cursor_id) = page.sql_bounds();
    let query = sqlx::query_as::<_, Account>(concat!(
        "SELECT ",
        account_columns!(),
        " FROM accounts \
         WHERE ($1::text IS NULL OR $1 = ANY(roles)) AND (created_at, user_id) < ($2, $3) \
         ORDER BY created_at DESC, user_id DESC LIMIT $4"
    ))
    .bind(role.map(Role::as_str))
    .bind(cursor_at)
    .bind(cursor_id)
    .bind(page.fetch_limit());
    Ok(database.fetch_all(query).await?)
}
