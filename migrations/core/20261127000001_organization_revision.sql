-- Counts the changes of each organization. Employer and internship keep a
-- copy of its card (organization.changed events) and only ever replace a
-- card with one of a higher revision, so an event delivered late cannot
-- roll a copy back.
ALTER TABLE organizations ADD COLUMN revision bigint NOT NULL DEFAULT 1;
