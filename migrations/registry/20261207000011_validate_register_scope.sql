-- Validates the scopes constraint the previous migration added NOT VALID;
-- validation takes a lock that lets reads and writes go on.
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '60s';
ALTER TABLE api_tokens VALIDATE CONSTRAINT api_tokens_scopes_check;
