-- Sign-in attempts are limited per (e-mail, client address) pair instead of
-- per e-mail alone, so guessing from one address cannot lock the owner out
-- from another; and every attempt prunes rows older than the window, which
-- needs an index on the time alone.
DROP INDEX sign_in_failures_email_idx;
CREATE INDEX sign_in_failures_pair_idx ON sign_in_failures (lower(email), client_address, failed_at);
CREATE INDEX sign_in_failures_failed_at_idx ON sign_in_failures (failed_at);
