-- The internship subgraph owns internships and apprenticeships and the
-- applications to them. Organization, mentor and skill ids refer to core.

CREATE TABLE internships (
    id                   uuid PRIMARY KEY,
    organization_id      uuid NOT NULL,
    mentor_id            uuid,
    title                text NOT NULL CHECK (length(title) BETWEEN 3 AND 200),
    description          text NOT NULL,
    kind                 text NOT NULL CHECK (kind IN ('INTERNSHIP', 'APPRENTICESHIP')),
    stipend_amount       integer CHECK (stipend_amount >= 0),
    stipend_currency     text CHECK (stipend_currency ~ '^[A-Z]{3}$'),
    stipend_period       text CHECK (stipend_period IN ('WEEK', 'MONTH', 'TOTAL')),
    duration_weeks       integer NOT NULL CHECK (duration_weeks BETWEEN 1 AND 208),
    starts_on            date NOT NULL,
    application_deadline date,
    location             text NOT NULL,
    remote               boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT internships_stipend_complete CHECK (
        (stipend_amount IS NULL AND stipend_currency IS NULL AND stipend_period IS NULL)
        OR (stipend_amount IS NOT NULL AND stipend_currency IS NOT NULL AND stipend_period IS NOT NULL))
);
CREATE INDEX internships_created_idx ON internships (created_at DESC, id DESC);
CREATE INDEX internships_organization_idx ON internships (organization_id, created_at DESC, id DESC);

CREATE TABLE internship_skills (
    internship_id uuid NOT NULL REFERENCES internships (id) ON DELETE CASCADE,
    skill_id      uuid NOT NULL,
    position      integer NOT NULL,
    PRIMARY KEY (internship_id, skill_id)
);

CREATE TABLE internship_applications (
    id            uuid PRIMARY KEY,
    internship_id uuid NOT NULL REFERENCES internships (id),
    applicant_id  uuid NOT NULL,
    status        text NOT NULL DEFAULT 'SUBMITTED' CHECK (status IN ('SUBMITTED', 'ACCEPTED', 'REJECTED', 'WITHDRAWN')),
    motivation    text CHECK (length(motivation) <= 5000),
    applied_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT internship_applications_internship_applicant_key UNIQUE (internship_id, applicant_id)
);
CREATE INDEX internship_applications_applicant_idx ON internship_applications (applicant_id, applied_at DESC, id DESC);
