-- Credentials, sessions, refresh tokens, signing keys and sign-in attempts.
-- Everything secret is stored in a form that is useless if the table leaks,
-- except the signing keys' private halves (see ARCHITECTURE.md).

-- argon2id PHC strings. NULL: the account cannot sign in with a password.
ALTER TABLE accounts ADD COLUMN password_hash text
    CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%');

-- Organizations a user recruits for. Tokens carry them as the `orgs` claim,
-- so every subgraph can decide organization-scoped access on its own.
CREATE TABLE account_organizations (
    user_id         uuid NOT NULL REFERENCES accounts (user_id) ON DELETE CASCADE,
    organization_id uuid NOT NULL,
    PRIMARY KEY (user_id, organization_id)
);

-- Ed25519 keys. A key is published from creation, signs from activates_at
-- until retires_at, and stays published until every token it signed has
-- expired.
CREATE TABLE signing_keys (
    key_id       text PRIMARY KEY,
    private_key  bytea NOT NULL CHECK (length(private_key) = 48),  -- PKCS#8 DER
    public_key   bytea NOT NULL CHECK (length(public_key) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    activates_at timestamptz NOT NULL,
    retires_at   timestamptz,
    CHECK (retires_at IS NULL OR retires_at >= activates_at)
);
CREATE INDEX signing_keys_activates_idx ON signing_keys (activates_at DESC);

CREATE TABLE sessions (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES accounts (user_id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_reason text CHECK (revoked_reason IN ('SIGNED_OUT', 'REFRESH_TOKEN_REUSED')),
    CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Refresh tokens are opaque random strings; only their SHA-256 is kept.
-- Each use rotates the token: the used row gets rotated_at and a new row
-- is issued. Presenting a rotated token again revokes the whole session.
CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at  timestamptz NOT NULL DEFAULT now(),
    rotated_at timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- Failed sign-in attempts, kept in the database so rate limits hold across
-- restarts and replicas. Rows older than the window are pruned on insert.
CREATE TABLE sign_in_failures (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email          text NOT NULL,
    client_address text,
    failed_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_failures_email_idx ON sign_in_failures (lower(email), failed_at);
CREATE INDEX sign_in_failures_address_idx ON sign_in_failures (client_address, failed_at)
    WHERE client_address IS NOT NULL;
