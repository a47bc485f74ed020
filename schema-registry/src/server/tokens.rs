//! Bearer tokens with scopes: read, write, approve, register.
//!
//! A token is `tgr_` and 32 random bytes in unpadded base64url. Only its
//! SHA-256 digest is stored, so a copy of the database grants nothing;
//! the digest of a high-entropy secret is also safe to look up directly.

use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use talentgraph_kit::Database;

use crate::RegistryError;

const TOKEN_PREFIX: &str = "tgr_";

/// What a token may do. `Write` includes everything `Read` allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Fetch schemas and supergraphs, history, diffs, operations; run checks.
    Read,
    /// Publish subgraph schemas.
    Write,
    /// Accept what a check refused or what changes the graph's trust (a new
    /// subgraph, a new routing URL, a field taken over with `@override`).
    /// Kept apart from `write` so that a publisher cannot approve their own
    /// change: the approval is someone else's token.
    Approve,
    /// Register a client release's operations. The production routers run
    /// only registered documents, so registering rewrites what production
    /// executes: a client's release pipeline holds this scope, a subgraph
    /// team's publishing token does not.
    Register,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Approve => "approve",
            Self::Register => "register",
        }
    }

    /// Parses a comma-separated list such as `read,write`.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, String> {
        let mut scopes = Vec::new();
        for word in text.split(',').map(str::trim) {
            let scope = match word {
                "read" => Self::Read,
                "write" => Self::Write,
                "approve" => Self::Approve,
                "register" => Self::Register,
                other => {
                    return Err(format!(
                        "unknown scope {other:?}: scopes are `read`, `write`, `approve` and `register`"
                    ));
                }
            };
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        scopes.sort();
        Ok(scopes)
    }
}

/// Who called, as the token's name, and what the token allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub token_name: String,
    pub scopes: Vec<Scope>,
}

impl Caller {
    /// Whether the token allows `needed`: any token reads; writing,
    /// approving and registering operations each need their own scope.
    pub fn allows(&self, needed: Scope) -> bool {
        match needed {
            Scope::Read => !self.scopes.is_empty(),
            Scope::Write | Scope::Approve | Scope::Register => self.scopes.contains(&needed),
        }
    }
}

/// The stored digest of a token.
pub fn token_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn new_token() -> String {
    let mut secret = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    )
}

/// Creates a token and returns its secret, which is shown only this once.
#[tracing::instrument(skip(database))]
pub async fn create_token(
    database: &Database,
    name: &str,
    scopes: &[Scope],
) -> Result<String, RegistryError> {
    let token = new_token();
    let scope_names: Vec<String> = scopes
        .iter()
        .map(|scope| scope.as_str().to_owned())
        .collect();
    let inserted = database
        .execute(
            sqlx::query(
                "INSERT INTO api_tokens (name, token_sha256, scopes) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(token_digest(&token))
            .bind(&scope_names),
        )
        .await?;
    if inserted == 0 {
        return Err(RegistryError::ServerConfig(format!(
            "a token named {name} already exists; revoke it or choose another name"
        )));
    }
    Ok(token)
}

/// Issues a new secret for the token called `name`, creating it when
/// there is none, and returns it: the previous secret (revoked or not)
/// stops working in the same statement. For tools that own one token name
/// and start many times, like the dev stack, where `create_token` would
/// refuse the name the previous run left behind.
#[tracing::instrument(skip(database))]
pub async fn rotate_token(
    database: &Database,
    name: &str,
    scopes: &[Scope],
) -> Result<String, RegistryError> {
    let token = new_token();
    let scope_names: Vec<String> = scopes
        .iter()
        .map(|scope| scope.as_str().to_owned())
        .collect();
    database
        .execute(
            sqlx::query(
                "INSERT INTO api_tokens (name, token_sha256, scopes) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET token_sha256 = EXCLUDED.token_sha256,
                     scopes = EXCLUDED.scopes, created_at = now(), revoked_at = NULL",
            )
            .bind(name)
            .bind(token_digest(&token))
            .bind(&scope_names),
        )
        .await?;
    Ok(token)
}

/// Revokes the active token called `name`; false when there is none.
#[tracing::instrument(skip(database))]
pub async fn revoke_token(database: &Database, name: &str) -> Result<bool, RegistryError> {
    let revoked = database
        .execute(
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL",
            )
            .bind(name),
        )
        .await?;
    Ok(revoked > 0)
}

/// The caller a presented token belongs to, if it is known and not revoked.
#[tracing::instrument(skip_all)]
pub async fn caller_for_token(
    database: &Database,
    token: &str,
) -> Result<Option<Caller>, RegistryError> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let row: Option<(String, Vec<String>)> = database
        .fetch_optional(
            sqlx::query_as(
                "SELECT name, scopes FROM api_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL",
            )
            .bind(token_digest(token)),
        )
        .await?;
    Ok(row.map(|(token_name, scopes)| Caller {
        token_name,
        scopes: scopes
            .iter()
            .filter_map(|scope| Scope::parse_list(scope).ok())
            .flatten()
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_includes_read_and_tokens_are_random() {
        let writer = Caller {
            token_name: "ci".to_owned(),
            scopes: vec![Scope::Write],
        };
        assert!(writer.allows(Scope::Read) && writer.allows(Scope::Write));
        let reader = Caller {
            token_name: "dashboard".to_owned(),
            scopes: vec![Scope::Read],
        };
        assert!(reader.allows(Scope::Read) && !reader.allows(Scope::Write));
        assert!(!writer.allows(Scope::Approve), "a publisher cannot approve");
        let approver = Caller {
            token_name: "lead".to_owned(),
            scopes: vec![Scope::Approve],
        };
        assert!(approver.allows(Scope::Read) && approver.allows(Scope::Approve));
        assert!(!approver.allows(Scope::Write));
        assert!(
            !writer.allows(Scope::Register),
            "a publisher does not rewrite production's trusted documents"
        );
        let release = Caller {
            token_name: "web-release".to_owned(),
            scopes: Scope::parse_list("register").expect("a scope"),
        };
        assert!(release.allows(Scope::Register) && !release.allows(Scope::Write));
        let (first, second) = (new_token(), new_token());
        assert_ne!(first, second);
        assert!(first.starts_with(TOKEN_PREFIX) && first.len() == TOKEN_PREFIX.len() + 43);
        assert_eq!(token_digest(&first).len(), 32);
        assert_eq!(
            Scope::parse_list("write, read,write"),
            Ok(vec![Scope::Read, Scope::Write])
        );
        assert!(Scope::parse_list("admin").is_err());
    }
}
