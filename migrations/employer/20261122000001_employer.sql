-- The employer subgraph owns job postings and who recruits for which
-- organization. Organization and user ids refer to core's entities; there
-- is no foreign key across databases, by design.

CREATE TABLE recruiters (
    organization_id uuid NOT NULL,
    user_id         uuid NOT NULL,
    added_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX recruiters_user_idx ON recruiters (user_id, added_at DESC);

CREATE TABLE jobs (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    posted_by       uuid NOT NULL,
    title           text NOT NULL CHECK (length(title) BETWEEN 3 AND 200),
    description     text NOT NULL CHECK (length(description) <= 20000),
    location        text NOT NULL,
    remote          boolean NOT NULL DEFAULT false,
    employment_type text NOT NULL CHECK (employment_type IN ('FULL_TIME', 'PART_TIME', 'CONTRACT', 'TEMPORARY')),
    salary_min      integer CHECK (salary_min >= 0),
    salary_max      integer CHECK (salary_max >= 0),
    salary_currency text CHECK (salary_currency ~ '^[A-Z]{3}$'),
    status          text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'CLOSED')),
    posted_at       timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT jobs_salary_range_ordered CHECK (salary_min IS NULL OR salary_max IS NULL OR salary_min <= salary_max),
    CONSTRAINT jobs_salary_currency_given CHECK ((salary_min IS NULL AND salary_max IS NULL) OR salary_currency IS NOT NULL)
);
CREATE INDEX jobs_posted_idx ON jobs (posted_at DESC, id DESC);
CREATE INDEX jobs_organization_posted_idx ON jobs (organization_id, posted_at DESC, id DESC);
CREATE INDEX jobs_open_organization_idx ON jobs (organization_id) WHERE status = 'OPEN';
