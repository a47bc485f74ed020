//! Who is asking: the identity that reaches every resolver.
//!
//! The HTTP layer puts a [`Viewer`] into every request's data. Today every
//! request is anonymous unless a caller (a test, or the JWT verification
//! layer) supplies a verified identity; resolvers only ever look at the
//! `Viewer`, never at headers, so adding token verification changes no
//! resolver.

use async_graphql::Context;
use uuid::Uuid;

use crate::graphql::errors::{ErrorCode, client_error};

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

    /// The signed-in user's id, or an `UNAUTHENTICATED` error.
    pub fn require_user(&self) -> Result<Uuid, async_graphql::Error> {
        self.user_id().ok_or_else(|| {
            client_error(
                ErrorCode::Unauthenticated,
                "You must be signed in to do this.",
            )
        })
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

/// A field guard that admits signed-in users holding any of the roles.
pub struct RoleGuard {
    roles: Vec<Role>,
}

impl RoleGuard {
    pub fn any_of(roles: &[Role]) -> Self {
        Self {
            roles: roles.to_vec(),
        }
    }
}

impl async_graphql::Guard for RoleGuard {
    async fn check(&self, context: &Context<'_>) -> async_graphql::Result<()> {
        let viewer = Viewer::of(context);
        viewer.require_user()?;
        if self.roles.iter().any(|role| viewer.has_role(*role)) {
            Ok(())
        } else {
            Err(client_error(
                ErrorCode::Forbidden,
                "Your account does not have the role this needs.",
            ))
        }
    }
}
