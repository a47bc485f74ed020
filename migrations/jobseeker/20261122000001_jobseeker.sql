-- The jobseeker subgraph owns what candidates do: their profile, their
-- applications and the jobs they saved. Job and user ids refer to other
-- subgraphs' entities; there is no foreign key across databases, by design.

CREATE TABLE jobseeker_profiles (
    user_id             uuid PRIMARY KEY,
    open_to_work        boolean NOT NULL DEFAULT true,
    desired_titles      text[] NOT NULL DEFAULT '{}' CHECK (cardinality(desired_titles) <= 10),
    desired_locations   text[] NOT NULL DEFAULT '{}' CHECK (cardinality(desired_locations) <= 10),
    years_of_experience integer CHECK (years_of_experience BETWEEN 0 AND 70),
    resume_url          text,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE applications (
    id           uuid PRIMARY KEY,
    job_id       uuid NOT NULL,
    applicant_id uuid NOT NULL,
    status       text NOT NULL DEFAULT 'SUBMITTED'
                 CHECK (status IN ('SUBMITTED', 'IN_REVIEW', 'INTERVIEWING', 'OFFERED', 'REJECTED', 'WITHDRAWN')),
    cover_letter text CHECK (length(cover_letter) <= 10000),
    applied_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- One application per job and person; the API maps this to ALREADY_APPLIED.
    CONSTRAINT applications_job_applicant_key UNIQUE (job_id, applicant_id)
);
CREATE INDEX applications_applicant_idx ON applications (applicant_id, applied_at DESC, id DESC);
CREATE INDEX applications_job_idx ON applications (job_id, applied_at DESC, id DESC);

CREATE TABLE saved_jobs (
    user_id  uuid NOT NULL,
    job_id   uuid NOT NULL,
    saved_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, job_id)
);
CREATE INDEX saved_jobs_user_idx ON saved_jobs (user_id, saved_at DESC, job_id DESC);
