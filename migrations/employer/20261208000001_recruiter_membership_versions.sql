-- How many times each (organization, user) membership changed, so that
-- recruiter.added and recruiter.removed carry a version their consumers
-- apply in order: an addition redelivered after its removal is older and
-- changes nothing. Kept after a removal (the recruiters row is gone).
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '10s';
CREATE TABLE recruiter_membership_versions (
    organization_id uuid NOT NULL,
    user_id         uuid NOT NULL,
    version         bigint NOT NULL CHECK (version > 0),
    PRIMARY KEY (organization_id, user_id)
);
