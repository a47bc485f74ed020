//! Who is asking: the identity that reaches every resolver.
//!
//! The module order of the kit is `errors` → `identity` → `request` →
//! `auth`/`guards` → `graphql`: each uses only those before it.
//!
//! The HTTP layer puts a [`Viewer`] into every request's data: anonymous
//! without a token, otherwise the identity a verified access token states
//! (see `tokens`). Resolvers only ever look at the `Viewer`, never at
//! headers, so how identity is proven can change without touching them.

use async_graphql::Context;
use uuid::Uuid;

use crate::errors::{CommonError, ErrorCode, client_error};

/// A platform role, stored as data in the auth database.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    async_graphql::Enum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Jobseeker,
    Employer,
    Admin,
}

impl Role {
    /// The form stored in PostgreSQL `text[]` columns and tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jobseeker => "JOBSEEKER",
            Self::Employer => "EMPLOYER",
            Self::Admin => "ADMIN",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "JOBSEEKER" => Some(Self::Jobseeker),
            "EMPLOYER" => Some(Self::Employer),
            "ADMIN" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// The verified identity behind a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Viewer {
    #[default]
    Anonymous,
    User {
        id: Uuid,
        roles: Vec<Role>,
        /// Organizations the user recruits for, from the token's claims.
        organizations: Vec<Uuid>,
    },
}

impl Viewer {
    /// The viewer of the request a resolver runs in.
    pub fn of<'a>(context: &'a Context<'_>) -> &'a Viewer {
        context.data_opt::<Viewer>().unwrap_or(&Viewer::Anonymous)
    }

    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Self::Anonymous => None,
            Self::User { id, .. } => Some(*id),
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        matches!(self, Self::User { roles, .. } if roles.contains(&role))
    }

    pub fn is_admin(&self) -> bool {
        self.has_role(Role::Admin)
    }

    /// The signed-in user's id, or [`CommonError::NotSignedIn`] (which
    /// every domain error embeds, so `?` works in resolvers and stores).
    pub fn require_user(&self) -> Result<Uuid, CommonError> {
        self.user_id().ok_or(CommonError::NotSignedIn)
    }

    /// The organizations the viewer recruits for (none unless they hold
    /// the employer role).
    pub fn recruiting_organizations(&self) -> &[Uuid] {
        match self {
            Self::User {
                roles,
                organizations,
                ..
            } if roles.contains(&Role::Employer) => organizations,
            _ => &[],
        }
    }

    /// Whether the viewer recruits for `organization`.
    pub fn is_recruiter_of(&self, organization: Uuid) -> bool {
        matches!(self, Self::User { roles, organizations, .. }
            if roles.contains(&Role::Employer) && organizations.contains(&organization))
    }

    /// Succeeds for recruiters of `organization`; with `admins_too`, also
    /// for admins (reads, never acting on an organization's behalf).
    pub fn require_recruiter_of(
        &self,
        organization: Uuid,
        admins_too: bool,
    ) -> Result<(), async_graphql::Error> {
        self.require_user()?;
        if self.is_recruiter_of(organization) || (admins_too && self.is_admin()) {
            Ok(())
        } else {
            Err(client_error(
                ErrorCode::Forbidden,
                "Only recruiters of this organization may do this.",
            ))
        }
    }

    /// Succeeds for the user `owner` themself and for admins.
    pub fn require_self_or_admin(&self, owner: Uuid) -> Result<(), async_graphql::Error> {
        let viewer_id = self.require_user()?;
        if viewer_id == owner || self.is_admin() {
            Ok(())
        } else {
            Err(client_error(
                ErrorCode::Forbidden,
                "You may only see your own data.",
            ))
        }
    }
}
