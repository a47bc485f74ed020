-- The auth subgraph owns identity: accounts, their e-mail addresses and
-- platform roles. Credentials, sessions, refresh tokens and signing keys
-- join this database when token issuing is built.

CREATE TABLE accounts (
    user_id    uuid PRIMARY KEY,
    email      text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
    roles      text[] NOT NULL DEFAULT '{JOBSEEKER}'
               CHECK (roles <@ ARRAY['JOBSEEKER', 'EMPLOYER', 'ADMIN']::text[] AND cardinality(roles) >= 1),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- E-mail addresses are unique whatever their case.
CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));
CREATE INDEX accounts_created_idx ON accounts (created_at DESC, user_id DESC);
CREATE INDEX accounts_roles_idx ON accounts USING gin (roles);
