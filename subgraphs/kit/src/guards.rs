//! Field guards: who may read a field, declared next to it.
//!
//! Roles and recruiter membership are platform concepts, not a subgraph's
//! domain, which is why these live in the kit: every subgraph that has an
//! organization's private data or a user's personal data guards it the
//! same way.

use async_graphql::Context;
use uuid::Uuid;

use crate::errors::{ErrorCode, client_error};
use crate::identity::{Role, Viewer};

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

/// A field guard for personal data: admits the user `owner` themself and
/// admins. Declared next to the field with the owner taken from the parent
/// object, e.g. `#[graphql(guard = "OwnerGuard::self_or_admin(self.id)")]`.
pub struct OwnerGuard {
    owner: Uuid,
}

impl OwnerGuard {
    pub fn self_or_admin(owner: Uuid) -> Self {
        Self { owner }
    }
}

impl async_graphql::Guard for OwnerGuard {
    async fn check(&self, context: &Context<'_>) -> async_graphql::Result<()> {
        Viewer::of(context).require_self_or_admin(self.owner)
    }
}

/// A field guard for an organization's private data: admits the
/// organization's recruiters (by the token's `orgs` claim) and admins.
pub struct RecruiterGuard {
    organization: Option<Uuid>,
    organization_from_router: bool,
}

impl RecruiterGuard {
    /// For fields of the organization itself (the key the router resolved).
    pub fn of(organization: Uuid) -> Self {
        Self {
            organization: Some(organization),
            organization_from_router: false,
        }
    }

    /// For fields whose organization arrived in the entity representation
    /// (`@requires`): believed only when the request came through the
    /// router, since a direct caller could invent it. Admins pass without.
    pub fn of_required_organization(organization: Option<Uuid>) -> Self {
        Self {
            organization,
            organization_from_router: true,
        }
    }
}

impl async_graphql::Guard for RecruiterGuard {
    async fn check(&self, context: &Context<'_>) -> async_graphql::Result<()> {
        let viewer = Viewer::of(context);
        viewer.require_user()?;
        if viewer.is_admin() {
            return Ok(());
        }
        if self.organization_from_router {
            crate::request::require_via_router(context)?;
        }
        let organization = self.organization.ok_or_else(|| {
            client_error(
                ErrorCode::Forbidden,
                "The organization is unknown, so its recruiters cannot be checked.",
            )
        })?;
        viewer.require_recruiter_of(organization, true)
    }
}
