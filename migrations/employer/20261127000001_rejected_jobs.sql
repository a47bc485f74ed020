-- A posting payment could not charge a job credit for (its organization had
-- none left) is REJECTED: out of search, kept for the organization to see.
ALTER TABLE jobs DROP CONSTRAINT jobs_status_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_status_check CHECK (status IN ('OPEN', 'CLOSED', 'REJECTED'));
