-- Approving a refused check or a change of the graph's trust (a new
-- subgraph, a new routing URL, an @override) needs its own scope, so a
-- publisher's token cannot approve its own change.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_scopes_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_scopes_check
    CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'write', 'approve']);
