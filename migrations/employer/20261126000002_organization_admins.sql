-- Organization admins: the recruiters who may add and remove the
-- organization's recruiters (platform admins may too). Existing
-- organizations get their longest-standing recruiter as admin.
ALTER TABLE recruiters ADD COLUMN is_admin boolean NOT NULL DEFAULT false;
UPDATE recruiters AS r SET is_admin = true
WHERE (r.added_at, r.user_id) = (
    SELECT added_at, user_id FROM recruiters AS first
    WHERE first.organization_id = r.organization_id
    ORDER BY added_at, user_id LIMIT 1);
