-- The organization cards a subgraph keeps (talentgraph-organization-cards;
-- each keeping subgraph's migration is a copy of this file, which a test
-- checks): core's organization.changed events projected into a table, so
-- the subgraph answers an organization's name, slug, logo and verified mark
-- without the router asking core. Never written by the subgraph's own
-- mutations.
CREATE TABLE organization_cards (
    organization_id uuid PRIMARY KEY,
    name            text NOT NULL,
    slug            text NOT NULL,
    logo_url        text,
    verified        boolean NOT NULL,
    -- core's revision of the organization; a card is only ever replaced by
    -- one with a higher revision.
    revision        bigint NOT NULL
);
