-- The core subgraph owns people and organizations: the entities every
-- other subgraph refers to by id.

CREATE TABLE users (
    id           uuid PRIMARY KEY,
    handle       text NOT NULL CONSTRAINT users_handle_key UNIQUE
                      CONSTRAINT users_handle_format CHECK (handle ~ '^[a-z0-9][a-z0-9-]{1,38}$'),
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 120),
    headline     text CHECK (length(headline) <= 220),
    location     text CHECK (length(location) <= 120),
    avatar_url   text,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE organizations (
    id         uuid PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug       text NOT NULL CONSTRAINT organizations_slug_key UNIQUE,
    about      text,
    industry   text NOT NULL,
    size       text NOT NULL CHECK (size IN ('SIZE_1_TO_10', 'SIZE_11_TO_50', 'SIZE_51_TO_200', 'SIZE_201_TO_1000', 'SIZE_1001_PLUS')),
    website    text,
    logo_url   text,
    verified   boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Keyset pagination reads organizations newest first.
CREATE INDEX organizations_created_at_id_idx ON organizations (created_at DESC, id DESC);
CREATE INDEX organizations_industry_idx ON organizations (industry, created_at DESC, id DESC);

CREATE TABLE skills (
    id   uuid PRIMARY KEY,
    name text NOT NULL,
    slug text NOT NULL CONSTRAINT skills_slug_key UNIQUE
);

CREATE TABLE user_skills (
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    skill_id uuid NOT NULL REFERENCES skills (id) ON DELETE CASCADE,
    position integer NOT NULL CHECK (position >= 0),
    PRIMARY KEY (user_id, skill_id)
);
