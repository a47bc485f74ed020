-- Purchases are charged through a payment provider.
--
-- An invoice buys credits (`credits`) or a plan change (`plan_code`, in
-- force once paid). It is PENDING from the purchase until the charge worker has the
-- provider's answer: PAID (credits granted), FAILED (declined, with the
-- provider's reason) or PAYMENT_ERROR (the provider never answered after the
-- last retry; the charge event is in the dead letters and can be replayed).
ALTER TABLE invoices DROP CONSTRAINT invoices_status_check;
ALTER TABLE invoices ADD CONSTRAINT invoices_status_check
    CHECK (status IN ('OPEN', 'PENDING', 'PAID', 'FAILED', 'PAYMENT_ERROR', 'VOID'));
ALTER TABLE invoices
    ADD COLUMN credits             integer CHECK (credits > 0),
    ADD COLUMN plan_code           text REFERENCES plans (code),
    ADD COLUMN payment_method      text,
    ADD COLUMN provider_payment_id text,
    ADD COLUMN failure_reason      text,
    ADD COLUMN updated_at          timestamptz NOT NULL DEFAULT now();
CREATE UNIQUE INDEX invoices_provider_payment_idx ON invoices (provider_payment_id)
    WHERE provider_payment_id IS NOT NULL;

-- Double entry: every ledger transaction is two or more entries that sum to
-- zero, one of them on the organization's account and the others on the
-- platform's accounts (credits sold, granted, consumed by postings). An
-- organization's balance is the sum of its account's entries.
ALTER TABLE ledger_entries
    ADD COLUMN transaction_id uuid,
    ADD COLUMN account text NOT NULL DEFAULT 'organization'
        CHECK (account IN ('organization', 'platform:sales', 'platform:grants', 'platform:postings')),
    ADD COLUMN job_id uuid;
UPDATE ledger_entries SET transaction_id = id;
INSERT INTO ledger_entries (id, organization_id, kind, credits, invoice_id, created_at, transaction_id, account)
SELECT gen_random_uuid(), organization_id, kind, -credits, invoice_id, created_at, id,
       CASE kind WHEN 'PURCHASE' THEN 'platform:sales'
                 WHEN 'REFUND' THEN 'platform:sales'
                 WHEN 'GRANT' THEN 'platform:grants'
                 ELSE 'platform:postings' END
FROM ledger_entries;
-- Balances that no entry explains (seeded or granted by hand) get an
-- opening grant, so every balance equals its entries from here on.
WITH unexplained AS (
    SELECT b.organization_id,
           b.job_credits - COALESCE((SELECT sum(e.credits) FROM ledger_entries e
                                     WHERE e.organization_id = b.organization_id
                                       AND e.account = 'organization'), 0) AS difference,
           gen_random_uuid() AS transaction_id
    FROM credit_balances b
)
INSERT INTO ledger_entries (id, organization_id, kind, credits, transaction_id, account)
SELECT gen_random_uuid(), organization_id, 'GRANT', side.credits, transaction_id, side.account
FROM unexplained,
     LATERAL (VALUES (difference, 'organization'), (-difference, 'platform:grants')) AS side(credits, account)
WHERE difference <> 0;
ALTER TABLE ledger_entries ALTER COLUMN transaction_id SET NOT NULL;
CREATE INDEX ledger_entries_transaction_idx ON ledger_entries (transaction_id);
-- A posting consumes at most one credit, however often its event arrives.
CREATE UNIQUE INDEX ledger_entries_one_consumption_per_job ON ledger_entries (job_id)
    WHERE kind = 'CONSUME' AND account = 'organization';

-- Provider webhooks already applied, by the provider's event id.
CREATE TABLE provider_events (
    id          text PRIMARY KEY,
    event_type  text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
