-- The payment subgraph owns money: plans, subscriptions, job-posting
-- credits, the ledger that explains every credit, invoices, idempotency
-- keys for retried purchases, and an outbox of events for other systems.

CREATE TABLE plans (
    code                 text PRIMARY KEY CHECK (code IN ('FREE', 'STARTER', 'GROWTH', 'ENTERPRISE')),
    name                 text NOT NULL,
    monthly_price_cents  integer NOT NULL CHECK (monthly_price_cents >= 0),
    included_job_credits integer NOT NULL CHECK (included_job_credits >= 0),
    verified_badge       boolean NOT NULL
);
INSERT INTO plans (code, name, monthly_price_cents, included_job_credits, verified_badge) VALUES
    ('FREE', 'Free', 0, 0, false),
    ('STARTER', 'Starter', 9900, 3, false),
    ('GROWTH', 'Growth', 29900, 15, true),
    ('ENTERPRISE', 'Enterprise', 99900, 100, true);

CREATE TABLE subscriptions (
    organization_id    uuid PRIMARY KEY,
    plan_code          text NOT NULL REFERENCES plans (code),
    status             text NOT NULL CHECK (status IN ('ACTIVE', 'PAST_DUE', 'CANCELED')),
    current_period_end timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE credit_balances (
    organization_id uuid PRIMARY KEY,
    job_credits     integer NOT NULL CHECK (job_credits >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE invoice_numbers;

CREATE TABLE invoices (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    number          text NOT NULL CONSTRAINT invoices_number_key UNIQUE,
    status          text NOT NULL CHECK (status IN ('OPEN', 'PAID', 'VOID')),
    currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    total_cents     integer NOT NULL CHECK (total_cents >= 0),
    description     text NOT NULL,
    issued_at       timestamptz NOT NULL DEFAULT now(),
    due_at          timestamptz NOT NULL,
    paid_at         timestamptz
);
CREATE INDEX invoices_organization_idx ON invoices (organization_id, issued_at DESC, id DESC);

CREATE TABLE ledger_entries (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('PURCHASE', 'GRANT', 'CONSUME', 'REFUND')),
    credits         integer NOT NULL,
    invoice_id      uuid REFERENCES invoices (id),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_entries_organization_idx ON ledger_entries (organization_id, created_at DESC);

-- A purchase retried with the same key returns the first result instead of
-- charging twice; the request hash catches a key reused for another request.
CREATE TABLE idempotency_keys (
    organization_id     uuid NOT NULL,
    key                 text NOT NULL CHECK (length(key) BETWEEN 8 AND 200),
    operation           text NOT NULL,
    request_hash        text NOT NULL,
    result_invoice_id   uuid REFERENCES invoices (id),
    result_job_credits  integer,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, key)
);

-- Events written in the same transaction as the change they describe, for a
-- relay to publish; nothing is lost if the process dies after committing.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    topic        text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;

CREATE TABLE job_promotions (
    job_id          uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    tier            text NOT NULL CHECK (tier IN ('FEATURED', 'SPOTLIGHT')),
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    CHECK (starts_at < ends_at)
);
