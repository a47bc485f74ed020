//! The double-entry ledger: writing a balanced transaction, and the
//! checks `payment-reconcile` runs over it.

use talentgraph_kit::database::Transaction;
use talentgraph_kit::{Database, DatabaseError};
use uuid::Uuid;

/// One ledger transaction: entries that sum to zero.
#[derive(Debug, Clone, Copy)]
pub enum LedgerTransaction {
    /// Credits bought with a paid invoice: the organization gains them, the
    /// platform's sales account gives them.
    Purchase { invoice_id: Uuid, credits: i32 },
    /// A posted job used a credit.
    Consume { job_id: Uuid },
}

/// Writes a ledger transaction and moves the organization's balance by its
/// organization-side amount, so the balance always equals the entries.
pub async fn write_ledger_transaction(
    transaction: &mut Transaction,
    organization_id: Uuid,
    entry: LedgerTransaction,
) -> Result<(), DatabaseError> {
    let (kind, platform_account, organization_credits, invoice_id, job_id) = match entry {
        LedgerTransaction::Purchase {
            invoice_id,
            credits,
        } => (
            "PURCHASE",
            "platform:sales",
            credits,
            Some(invoice_id),
            None,
        ),
        LedgerTransaction::Consume { job_id } => {
            ("CONSUME", "platform:postings", -1, None, Some(job_id))
        }
    };
    transaction
        .execute(
            sqlx::query(
                "INSERT INTO ledger_entries (id, transaction_id, organization_id, kind, account, credits, invoice_id, job_id) \
                 SELECT gen_random_uuid(), $1, $2, $3, side.account, side.credits, $6, $7 \
                 FROM (VALUES ('organization', $4::int), ($5, -$4::int)) AS side(account, credits)",
            )
            .bind(Uuid::new_v4())
            .bind(organization_id)
            .bind(kind)
            .bind(organization_credits)
            .bind(platform_account)
            .bind(invoice_id)
            .bind(job_id),
        )
        .await?;
    // PostgreSQL checks `job_credits >= 0` on the row an upsert proposes
    // before it looks for a conflict, so a debit updates the row (which a
    // debit's caller has locked and found sufficient) and only a credit
    // may create it.
    let statement = if organization_credits < 0 {
        "UPDATE credit_balances SET job_credits = job_credits + $2, updated_at = now() \
         WHERE organization_id = $1"
    } else {
        "INSERT INTO credit_balances (organization_id, job_credits) VALUES ($1, $2) \
         ON CONFLICT (organization_id) DO UPDATE \
         SET job_credits = credit_balances.job_credits + EXCLUDED.job_credits, updated_at = now()"
    };
    transaction
        .execute(
            sqlx::query(statement)
                .bind(organization_id)
                .bind(organization_credits),
        )
        .await?;
    Ok(())
}

/// The ledger's invariants, checked against the database: every
/// transaction sums to zero, and every balance equals its organization's
/// entries. Returns one line per violation.
pub async fn ledger_violations(database: &Database) -> Result<Vec<String>, DatabaseError> {
    let unbalanced: Vec<(Uuid, i64)> = database
        .fetch_all(sqlx::query_as(
            "SELECT transaction_id, sum(credits) FROM ledger_entries \
             GROUP BY transaction_id HAVING sum(credits) <> 0",
        ))
        .await?;
    let mismatched: Vec<(Uuid, i32, i64)> = database
        .fetch_all(sqlx::query_as(
            "SELECT b.organization_id, b.job_credits, COALESCE(e.total, 0) \
             FROM credit_balances b LEFT JOIN ( \
                 SELECT organization_id, sum(credits) AS total FROM ledger_entries \
                 WHERE account = 'organization' GROUP BY organization_id) e \
               ON e.organization_id = b.organization_id \
             WHERE b.job_credits <> COALESCE(e.total, 0)",
        ))
        .await?;
    Ok(unbalanced
        .into_iter()
        .map(|(transaction, sum)| format!("ledger transaction {transaction} sums to {sum}, not 0"))
        .chain(
            mismatched
                .into_iter()
                .map(|(organization, balance, entries)| {
                    format!(
                        "organization {organization}: balance {balance}, entries sum to {entries}"
                    )
                }),
        )
        .collect())
}
