-- Counts the changes of each organization. Employer and internship keep a
-- copy of its card (organization.changed events) and only ever replace a
-- card with one of a higher revision, so an event delivered late cannot
-- roll a copy back.
ALTER TABLE organizations ADD COLUMN IF NOT EXISTS revision bigint NOT NULL DEFAULT 1;

-- The copies start from every organization that exists when this runs:
-- each is announced once through the outbox, in the envelope the kit's
-- `record_event` writes (a core test decodes it), and the relay publishes
-- it like any other event. A fresh database has no organizations yet; the
-- demo data announces its own as it creates them.
WITH announced AS (
    SELECT gen_random_uuid() AS event_id, id, name, slug, logo_url, verified, revision
    FROM organizations
)
INSERT INTO outbox (event_id, subject, envelope)
SELECT event_id,
       'talentgraph.core.organization.changed.v1',
       jsonb_build_object(
           'id', event_id,
           'type', 'organization.changed',
           'version', 1,
           'occurredAt', now(),
           'producer', 'core',
           'data', jsonb_build_object(
               'organizationId', id,
               'name', name,
               'slug', slug,
               'logoUrl', logo_url,
               'verified', verified,
               'revision', revision
           )
       )
FROM announced;
