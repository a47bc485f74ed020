-- When employer closed a job (`job.closed.v1`); applyToJob refuses closed
-- jobs and jobs jobseeker has not heard of.
ALTER TABLE job_organizations ADD COLUMN closed_at timestamptz;
