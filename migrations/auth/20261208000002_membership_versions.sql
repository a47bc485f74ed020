-- The version of the last membership change auth applied per (user,
-- organization), from employer's recruiter.added / recruiter.removed: a
-- change no newer than it is skipped, so a redelivered addition cannot
-- re-grant a membership its removal ended. Kept after a removal.
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '10s';
CREATE TABLE account_organization_versions (
    user_id         uuid NOT NULL,
    organization_id uuid NOT NULL,
    version         bigint NOT NULL CHECK (version > 0),
    PRIMARY KEY (user_id, organization_id)
);
