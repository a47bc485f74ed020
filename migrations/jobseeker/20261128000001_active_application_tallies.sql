-- A job's count of active applications and whether the viewer holds one of
-- them are read in one statement (`ACTIVE_APPLICATION_TALLIES_BY_JOB`).
-- The partial index of active applications by job now carries the
-- applicant too, so that statement still reads the index alone; it
-- replaces the index that held the job alone.
CREATE INDEX applications_active_job_applicant_idx ON applications (job_id) INCLUDE (applicant_id)
    WHERE status <> 'WITHDRAWN';
DROP INDEX applications_active_job_idx;
