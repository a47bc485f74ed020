-- A posting retried with the same idempotency key returns the first job
-- instead of posting (and charging a credit for) a second one. Keys belong
-- to the organization, as payment's do; the request digest catches a key
-- reused for a different posting. A new table: nothing old reads it, and
-- creating it locks nothing that serves requests (the foreign key takes a
-- SHARE ROW EXCLUSIVE lock on `jobs` for the moment of the CREATE, which
-- the lock timeout bounds).
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
CREATE TABLE job_posting_keys (
    organization_id uuid NOT NULL,
    key             text NOT NULL CHECK (length(key) BETWEEN 8 AND 200),
    -- SHA-256 of everything that makes the posting this posting, hex.
    request_digest  text NOT NULL,
    job_id          uuid REFERENCES jobs (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, key)
);
