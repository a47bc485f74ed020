-- The schema registry's own database: who may call it, every published
-- subgraph schema version with the check that admitted it, approvals of
-- breaking changes, the supergraphs composed from them, and the client
-- operations that make checks usage-aware and form the safelist.

-- Bearer tokens, stored only as SHA-256 digests of the random secret.
-- `read` reads schemas, history, diffs and operations and runs checks;
-- `write` also publishes schemas and registers operations.
CREATE TABLE api_tokens (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL UNIQUE CHECK (length(btrim(name)) > 0),
    token_sha256 bytea NOT NULL UNIQUE,
    scopes       text[] NOT NULL
                 CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'write']),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

-- Every supergraph the registry composed, newest last. The SHA-256 of the
-- SDL is the HTTP entity tag routers and tools revalidate with.
CREATE TABLE supergraph_versions (
    id          bigserial PRIMARY KEY,
    sdl         text NOT NULL,
    api_sdl     text NOT NULL,
    sdl_sha256  text NOT NULL,
    composed_at timestamptz NOT NULL DEFAULT now()
);

-- One row per published subgraph schema version. `changes` is the check's
-- list of API-schema changes (with affected operations) at publication.
CREATE TABLE subgraph_versions (
    id                    bigserial PRIMARY KEY,
    subgraph              text NOT NULL CHECK (subgraph ~ '^[a-z][a-z0-9_-]{0,62}$'),
    version               integer NOT NULL CHECK (version > 0),
    routing_url           text NOT NULL,
    sdl                   text NOT NULL,
    sdl_sha256            text NOT NULL,
    published_by          text NOT NULL,
    published_at          timestamptz NOT NULL DEFAULT now(),
    supergraph_version_id bigint NOT NULL REFERENCES supergraph_versions (id),
    changes               jsonb NOT NULL,
    CONSTRAINT subgraph_versions_subgraph_version_key UNIQUE (subgraph, version)
);

-- Who let a failing check through, why, and exactly what they accepted.
CREATE TABLE approvals (
    id                  bigserial PRIMARY KEY,
    subgraph_version_id bigint NOT NULL UNIQUE REFERENCES subgraph_versions (id),
    approved_by         text NOT NULL,
    reason              text NOT NULL CHECK (length(btrim(reason)) > 0),
    approved_report     jsonb NOT NULL,
    approved_at         timestamptz NOT NULL DEFAULT now()
);

-- Operations clients send, per client version. A released client version's
-- operation cannot change afterwards (same name, other document: refused).
CREATE TABLE client_operations (
    id              bigserial PRIMARY KEY,
    client_name     text NOT NULL CHECK (length(btrim(client_name)) > 0),
    client_version  text NOT NULL CHECK (length(btrim(client_version)) > 0),
    operation_name  text NOT NULL,
    operation_type  text NOT NULL CHECK (operation_type IN ('query', 'mutation', 'subscription')),
    document_sha256 text NOT NULL,
    document        text NOT NULL,
    registered_by   text NOT NULL,
    registered_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT client_operations_name_key UNIQUE (client_name, client_version, operation_name)
);

CREATE INDEX client_operations_by_document ON client_operations (document_sha256);
