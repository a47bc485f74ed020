-- The job search shows each job's count of active applications: one
-- batched statement per page (`ACTIVE_APPLICATION_COUNTS_BY_JOB`). Through
-- `applications_job_idx` PostgreSQL read every application's row to check
-- its status; an index of the active applications alone answers the count
-- from the index (an index-only scan once the table has been vacuumed).
CREATE INDEX applications_active_job_idx ON applications (job_id) WHERE status <> 'WITHDRAWN';
