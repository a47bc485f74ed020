-- The migration the drill's rolling deploy of employer brings, as a new
-- build with one additive change would (the expand step of expand /
-- contract, ARCHITECTURE.md): it runs while the old replicas serve, and
-- both old and new code keep working against it. A nullable column with
-- no default is a catalogue change without a table rewrite; the lock
-- timeout makes the ALTER give up instead of queueing every read of
-- `jobs` behind it when a long transaction holds the table.
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '5s';
ALTER TABLE jobs ADD COLUMN featured_until timestamptz;
