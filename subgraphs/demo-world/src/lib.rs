//! The demo world: how many of everything, and who relates to whom.
//!
//! Each subgraph seeds only its own database, yet the rows must agree
//! across databases: an application in jobseeker names a job that employer
//! has, posted by a user core has, at an organization whose recruiters
//! employer lists. This crate is that agreement, as pure functions of an
//! index. It is not a subgraph and reads no database, so subgraphs that
//! depend on it still never depend on each other.

use chrono::{DateTime, Duration, TimeZone, Utc};
use talentgraph_kit::demo::demo_id;
use uuid::Uuid;

/// The known password of every demo account (there is no password column
/// yet: accounts exist as data; signing in arrives with the auth issue).
pub const DEMO_PASSWORD: &str = "talentgraph-demo";

/// How large the demo world is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoWorld {
    pub users: u64,
    pub organizations: u64,
    pub jobs: u64,
    pub applications: u64,
    pub internships: u64,
    pub skills: u64,
}

impl DemoWorld {
    /// The data set `devstack seed` loads.
    pub const STANDARD: Self = Self {
        users: 2_000,
        organizations: 300,
        jobs: 5_000,
        applications: 20_000,
        internships: 1_000,
        skills: 60,
    };

    /// A small world for tests: same rules, fewer rows.
    pub const SMALL: Self = Self {
        users: 120,
        organizations: 20,
        jobs: 200,
        applications: 600,
        internships: 40,
        skills: 30,
    };

    pub fn user_id(&self, index: u64) -> Uuid {
        demo_id("user", index)
    }
    pub fn organization_id(&self, index: u64) -> Uuid {
        demo_id("organization", index)
    }
    pub fn skill_id(&self, index: u64) -> Uuid {
        demo_id("skill", index)
    }
    pub fn job_id(&self, index: u64) -> Uuid {
        demo_id("job", index)
    }
    pub fn application_id(&self, index: u64) -> Uuid {
        demo_id("application", index)
    }
    pub fn internship_id(&self, index: u64) -> Uuid {
        demo_id("internship", index)
    }
    pub fn internship_application_id(&self, index: u64) -> Uuid {
        demo_id("internship-application", index)
    }
    pub fn invoice_id(&self, index: u64) -> Uuid {
        demo_id("invoice", index)
    }

    /// Users `2·o` and `2·o + 1` are the recruiters of organization `o`.
    pub fn recruiters_of(&self, organization: u64) -> [u64; 2] {
        [2 * organization, 2 * organization + 1]
    }

    /// The organization a user recruits for, if they are a recruiter.
    pub fn recruiter_organization(&self, user: u64) -> Option<u64> {
        (user < 2 * self.organizations && !self.is_admin(user)).then_some(user / 2)
    }

    /// The ids of the organizations a user recruits for, as their access
    /// token's `orgs` claim lists them.
    pub fn recruited_organization_ids(&self, user: u64) -> Vec<Uuid> {
        self.recruiter_organization(user)
            .map(|organization| self.organization_id(organization))
            .into_iter()
            .collect()
    }

    /// The last user is the platform admin.
    pub fn is_admin(&self, user: u64) -> bool {
        user == self.users - 1
    }

    /// Users after the recruiters (and before the admin) are jobseekers.
    pub fn first_jobseeker(&self) -> u64 {
        2 * self.organizations
    }

    pub fn jobseeker_count(&self) -> u64 {
        self.users - 1 - self.first_jobseeker()
    }

    pub fn is_jobseeker(&self, user: u64) -> bool {
        user >= self.first_jobseeker() && !self.is_admin(user)
    }

    /// The well-known demo accounts: a jobseeker, a recruiter, an admin.
    pub fn demo_jobseeker(&self) -> u64 {
        self.first_jobseeker()
    }
    pub fn demo_recruiter(&self) -> u64 {
        0
    }
    pub fn demo_admin(&self) -> u64 {
        self.users - 1
    }

    /// The e-mail address of a user (stored by auth).
    pub fn email(&self, user: u64) -> String {
        if user == self.demo_jobseeker() {
            "jobseeker@demo.talentgraph.dev".to_owned()
        } else if user == self.demo_recruiter() {
            "recruiter@demo.talentgraph.dev".to_owned()
        } else if self.is_admin(user) {
            "admin@demo.talentgraph.dev".to_owned()
        } else {
            format!("user{user}@demo.talentgraph.dev")
        }
    }

    /// Jobs are spread round-robin over organizations.
    pub fn job_organization(&self, job: u64) -> u64 {
        job % self.organizations
    }

    /// Every tenth job is closed (employer seeds its status from this,
    /// jobseeker its record of which jobs take applications).
    pub fn job_is_closed(&self, job: u64) -> bool {
        job % 10 == 9
    }

    /// The recruiter who posted a job.
    pub fn job_poster(&self, job: u64) -> u64 {
        self.recruiters_of(self.job_organization(job))[usize::from(job % 2 == 1)]
    }

    /// Application `i`: which jobseeker applied to which job. Consecutive
    /// indexes cycle through jobseekers; each jobseeker's k-th application
    /// goes to a different job, so (job, applicant) pairs never repeat.
    pub fn application(&self, index: u64) -> (u64, u64) {
        let jobseekers = self.jobseeker_count();
        let applicant_offset = index % jobseekers;
        let round = index / jobseekers;
        let job = (applicant_offset * 131 + round * 337) % self.jobs;
        (job, self.first_jobseeker() + applicant_offset)
    }

    /// Internships are spread over organizations; the mentor is one of its
    /// recruiters.
    pub fn internship_organization(&self, internship: u64) -> u64 {
        (internship * 7) % self.organizations
    }

    pub fn internship_mentor(&self, internship: u64) -> u64 {
        self.recruiters_of(self.internship_organization(internship))
            [usize::from(internship.is_multiple_of(2))]
    }

    /// When a record was created: spread over the year before
    /// 2026-11-01, newest for the highest index, and never in the future.
    pub fn timestamp(&self, kind_offset_minutes: i64, index: u64, count: u64) -> DateTime<Utc> {
        let end = Utc
            .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let span_minutes: i64 = 365 * 24 * 60;
        let count = i64::try_from(count.max(1)).unwrap_or(i64::MAX);
        let index = i64::try_from(index).unwrap_or(i64::MAX);
        let minutes_before_end =
            span_minutes - (span_minutes * index / count) + kind_offset_minutes;
        end - Duration::minutes(minutes_before_end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The relationship rules hold for the standard world: no repeated
    /// applications, recruiters inside range, jobseekers distinct from them.
    #[test]
    fn standard_world_relationships_are_consistent() {
        let world = DemoWorld::STANDARD;
        let mut pairs = HashSet::new();
        for index in 0..world.applications {
            let (job, applicant) = world.application(index);
            assert!(job < world.jobs);
            assert!(world.is_jobseeker(applicant), "applicant {applicant}");
            assert!(
                pairs.insert((job, applicant)),
                "duplicate application {index}"
            );
        }
        for organization in 0..world.organizations {
            for recruiter in world.recruiters_of(organization) {
                assert_eq!(world.recruiter_organization(recruiter), Some(organization));
            }
        }
        assert!(world.is_jobseeker(world.demo_jobseeker()));
        assert!(world.is_admin(world.demo_admin()));
        assert!(world.timestamp(0, 0, 10) < world.timestamp(0, 9, 10));
    }
}
