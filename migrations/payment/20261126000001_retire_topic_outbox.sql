-- Payment's first outbox (topic, payload) was never published. The kit's
-- event tables replace it (next migration); its rows are carried over as
-- event envelopes (the migration after), so nothing recorded is lost.
ALTER TABLE outbox RENAME TO outbox_before_events;
ALTER INDEX outbox_unpublished_idx RENAME TO outbox_before_events_unpublished_idx;
