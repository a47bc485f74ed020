-- Which organization each job belongs to, as employer announced it
-- (`job.posted.v1`). Jobseeker checks a recruiter's right to a job's
-- applications against this, not against the organization a request's
-- entity representation claims.
CREATE TABLE job_organizations (
    job_id          uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
