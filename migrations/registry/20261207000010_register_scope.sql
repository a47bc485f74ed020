-- Registering client operations rewrites the list of documents the
-- production routers execute, so it needs a scope of its own: a subgraph
-- team's publishing token (`write`) no longer registers operations; a
-- client's release pipeline holds `register`.
--
-- The constraint is added NOT VALID (no scan under the lock) and validated
-- by the next migration.
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '10s';
-- The constraint is replaced below by a wider one in the same transaction:
-- no guarantee an older registry relies on goes away (every scope it
-- knows stays allowed).
-- squawk-ignore ban-drop-constraint
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_scopes_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_scopes_check
    CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'write', 'approve', 'register'])
    NOT VALID;
