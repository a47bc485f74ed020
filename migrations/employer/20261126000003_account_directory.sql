-- The addresses `addRecruiter` looks accounts up by: a projection of auth's
-- `account.created` events (and of the demo world's accounts), never
-- written by employer's own mutations. Auth stores addresses lower-cased,
-- and so does this table.
CREATE TABLE account_directory (
    user_id uuid PRIMARY KEY,
    email text NOT NULL UNIQUE CHECK (email = lower(email))
);
