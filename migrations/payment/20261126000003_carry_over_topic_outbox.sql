-- The old outbox's rows as envelopes in the new one, in their order, on the
-- subjects of the event catalogue (talentgraph.payment.<type>.v1).
INSERT INTO outbox (event_id, subject, envelope, created_at)
SELECT id, subject,
       jsonb_build_object(
           'id', id,
           'type', event_type,
           'version', 1,
           'occurredAt', to_jsonb(created_at),
           'producer', 'payment',
           'data', data),
       created_at
FROM (
    SELECT gen_random_uuid() AS id,
           old.created_at,
           old.id AS old_id,
           CASE old.topic
               WHEN 'payment.job_credits_purchased' THEN 'job_credits.purchased'
               WHEN 'payment.plan_changed' THEN 'plan.changed'
           END AS event_type,
           CASE old.topic
               WHEN 'payment.job_credits_purchased' THEN 'talentgraph.payment.job_credits.purchased.v1'
               WHEN 'payment.plan_changed' THEN 'talentgraph.payment.plan.changed.v1'
           END AS subject,
           old.payload AS data
    FROM outbox_before_events AS old
    WHERE old.published_at IS NULL
      AND old.topic IN ('payment.job_credits_purchased', 'payment.plan_changed')
) AS carried
ORDER BY old_id;

DROP TABLE outbox_before_events;
