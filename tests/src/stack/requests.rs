//! Requests through the stack's router, with what each cost at the
//! subgraphs.

use std::sync::atomic::Ordering;

use crate::Session;
use crate::answers::{RouterResponse, post_to_router};
use crate::pages::{operation_document, page_document};

use super::Stack;

/// Counts of one page request: subgraph fetches and SQL statements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cost {
    pub fetches: Vec<(&'static str, u64)>,
    pub statements: Vec<(&'static str, u64)>,
}

impl Cost {
    pub fn total_fetches(&self) -> u64 {
        self.fetches.iter().map(|(_, count)| count).sum()
    }
    pub fn total_statements(&self) -> u64 {
        self.statements.iter().map(|(_, count)| count).sum()
    }
    /// The subgraphs the request touched, in stack order.
    pub fn subgraphs_touched(&self) -> Vec<&'static str> {
        self.fetches
            .iter()
            .filter(|(_, count)| *count > 0)
            .map(|(name, _)| *name)
            .collect()
    }
}

impl Stack {
    /// Signs in through the router; the error is the response body.
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<Session, serde_json::Value> {
        let (response, _) = self
            .request(
                None,
                &operation_document("SignIn"),
                Some("SignIn"),
                serde_json::json!({ "input": { "email": email, "password": password } }),
            )
            .await;
        Self::session_from(&response.body, "signIn").ok_or(response.body)
    }

    /// Signs a new account up through the router with a fixed password;
    /// panics when sign-up fails.
    pub async fn sign_up(&self, email: &str, role: &str) -> Session {
        let (response, _) = self
            .request(
                None,
                &operation_document("SignUp"),
                Some("SignUp"),
                serde_json::json!({ "input": { "email": email, "password": "e2e test passphrase", "role": role } }),
            )
            .await;
        Self::session_from(&response.body, "signUp")
            .unwrap_or_else(|| panic!("sign-up failed: {:#}", response.body))
    }

    /// Reads the tokens of an `AuthPayload` at `data.<field>`.
    pub fn session_from(body: &serde_json::Value, field: &str) -> Option<Session> {
        let payload = &body["data"][field];
        Some(Session {
            access_token: payload["accessToken"].as_str()?.to_owned(),
            refresh_token: payload["refreshToken"].as_str()?.to_owned(),
        })
    }

    /// SQL statements run so far by every subgraph's database together.
    pub fn total_statements(&self) -> u64 {
        self.snapshot().total_statements()
    }

    fn snapshot(&self) -> Cost {
        Cost {
            fetches: self
                .subgraphs
                .iter()
                .map(|subgraph| (subgraph.name, subgraph.fetches.load(Ordering::SeqCst)))
                .collect(),
            statements: self
                .subgraphs
                .iter()
                .map(|subgraph| (subgraph.name, subgraph.database.statements_executed()))
                .collect(),
        }
    }

    /// Sends one operation through the router and returns the answer with
    /// what it cost at the subgraphs.
    pub async fn request(
        &self,
        token: Option<&str>,
        query: &str,
        operation_name: Option<&str>,
        variables: serde_json::Value,
    ) -> (RouterResponse, Cost) {
        self.request_with_headers(token, query, operation_name, variables, &[])
            .await
    }

    /// Like [`Stack::request`], with extra request headers (a `traceparent`,
    /// say).
    pub async fn request_with_headers(
        &self,
        token: Option<&str>,
        query: &str,
        operation_name: Option<&str>,
        variables: serde_json::Value,
        headers: &[(&str, &str)],
    ) -> (RouterResponse, Cost) {
        let mut body = serde_json::json!({ "query": query, "variables": variables });
        if let Some(name) = operation_name {
            body["operationName"] = serde_json::Value::String(name.to_owned());
        }
        self.send_body(token, &body, headers).await
    }

    /// Posts any JSON body to the router (an id-only persisted query, say)
    /// and counts the fetches and statements it caused; panics with the
    /// router's log when the router does not answer.
    pub async fn send_body(
        &self,
        token: Option<&str>,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> (RouterResponse, Cost) {
        self.try_send_body(token, body, headers)
            .await
            .unwrap_or_else(|error| panic!("the router answers: {error}\n{}", self.router_log()))
    }

    /// [`Stack::send_body`] that returns a failed connection instead of
    /// panicking: a router that hot-reloads replaces its HTTP server, and a
    /// request in that moment can find the connection closed.
    pub async fn try_send_body(
        &self,
        token: Option<&str>,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> Result<(RouterResponse, Cost), reqwest::Error> {
        let before = self.snapshot();
        let answer = post_to_router(&self.client, &self.router_url, token, body, headers).await?;
        let status = answer.status;
        let (body, parts) = answer
            .parsed
            .unwrap_or_else(|_| panic!("the router answered non-JSON ({status}): {}", answer.text));
        let after = self.snapshot();
        let difference = |before: &[(&'static str, u64)], after: &[(&'static str, u64)]| {
            before
                .iter()
                .zip(after)
                .map(|((name, earlier), (_, later))| (*name, later - earlier))
                .collect()
        };
        let cost = Cost {
            fetches: difference(&before.fetches, &after.fetches),
            statements: difference(&before.statements, &after.statements),
        };
        Ok((
            RouterResponse {
                status,
                body,
                parts,
            },
            cost,
        ))
    }

    /// Sends a page operation from `pages/<name>.graphql`.
    pub async fn page(
        &self,
        name: &str,
        token: Option<&str>,
        variables: serde_json::Value,
    ) -> (RouterResponse, Cost) {
        let document = page_document(name);
        self.request(token, &document, Some(name), variables).await
    }
}
