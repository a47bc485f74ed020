-- The event tables every producing or consuming subgraph has (talentgraph-kit's
-- events module; each subgraph's migration is a copy of this file, which a test
-- checks).
--
-- outbox: events written in the same transaction as the change they announce,
-- published to NATS JetStream in `sequence` order by the relay, which marks
-- them published.
CREATE TABLE outbox (
    sequence     bigserial PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    subject      text NOT NULL,
    envelope     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (sequence) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL;

-- inbox: the events each consumer applied, written in the transaction that
-- applied them, so a redelivered event is recognised and skipped.
CREATE TABLE inbox (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX inbox_processed_at_idx ON inbox (processed_at);
