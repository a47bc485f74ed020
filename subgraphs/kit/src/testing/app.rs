//! A subgraph served on a free loopback port for one test, and the ways a
//! test talks to it.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;

use crate::database::Database;
use crate::errors::KitError;

/// A subgraph application served on a free loopback port for one test.
pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A GraphQL response as a test sees it: status, headers and JSON body.
#[derive(Debug)]
pub struct TestResponse {
    pub status: reqwest::StatusCode,
    pub content_type: String,
    pub body: serde_json::Value,
}

impl TestResponse {
    /// The `extensions.code` of the first error, if any.
    pub fn first_error_code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }
}

impl TestApp {
    /// Serves `router` in the current runtime until the `TestApp` drops.
    pub async fn spawn(router: Router) -> Result<Self, KitError> {
        let listener = crate::server::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let address = listener.local_addr().map_err(KitError::Serve)?;
        let (shutdown, shutdown_requested) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let stop = async move {
                let _ = shutdown_requested.await;
            };
            if let Err(error) =
                crate::server::serve(listener, router, stop, Duration::from_secs(5)).await
            {
                tracing::error!(%error, "test app stopped with an error");
            }
        });
        Ok(Self {
            address,
            client: reqwest::Client::new(),
            shutdown: Some(shutdown),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// POSTs a GraphQL request as a modern client would.
    pub async fn graphql(&self, query: &str, variables: serde_json::Value) -> TestResponse {
        let body = serde_json::json!({ "query": query, "variables": variables });
        self.post_raw(
            "application/json",
            "application/graphql-response+json, application/json;q=0.9",
            body.to_string(),
        )
        .await
    }

    /// POSTs any body with any content type, for malformed-input tests.
    pub async fn post_raw(&self, content_type: &str, accept: &str, body: String) -> TestResponse {
        let response = self
            .client
            .post(self.url("/graphql"))
            .header("content-type", content_type)
            .header("accept", accept)
            .body(body)
            .send()
            .await
            .expect("the test app answers");
        Self::read(response).await
    }

    /// GETs `/graphql` with the given query-string parameters.
    /// The status of a GET to `path`, such as `/health`.
    pub async fn status_of(&self, path: &str) -> u16 {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("the test app answers")
            .status()
            .as_u16()
    }

    pub async fn get(&self, parameters: &[(&str, &str)]) -> TestResponse {
        let response = self
            .client
            .get(self.url("/graphql"))
            .header("accept", "application/graphql-response+json")
            .query(parameters)
            .send()
            .await
            .expect("the test app answers");
        Self::read(response).await
    }

    async fn read(response: reqwest::Response) -> TestResponse {
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await.expect("a response body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("the response is not JSON (status {status}): {text}"));
        TestResponse {
            status,
            content_type,
            body,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Runs `work` and returns its output with the number of SQL statements it
/// cost on `database`.
pub async fn count_statements<T>(
    database: &Database,
    work: impl std::future::Future<Output = T>,
) -> (T, u64) {
    let before = database.statements_executed();
    let output = work.await;
    (output, database.statements_executed() - before)
}

/// Accepts fixed bearer tokens, each standing for a viewer: lets tests act
/// as a given user through the real HTTP path without minting JWTs.
#[derive(Default)]
pub struct StaticBearerTokens {
    viewers: std::collections::HashMap<String, crate::Viewer>,
}

impl StaticBearerTokens {
    pub fn with(mut self, token: &str, viewer: crate::Viewer) -> Self {
        self.viewers.insert(token.to_owned(), viewer);
        self
    }

    pub fn shared(self) -> crate::auth::SharedAuthenticator {
        std::sync::Arc::new(self)
    }
}

impl crate::auth::Authenticator for StaticBearerTokens {
    fn authenticate<'a>(
        &'a self,
        headers: &'a http::HeaderMap,
    ) -> futures::future::BoxFuture<'a, Result<crate::Viewer, crate::auth::AuthenticationFailure>>
    {
        Box::pin(async move {
            match crate::auth::bearer_token(headers)? {
                None => Ok(crate::Viewer::Anonymous),
                Some(token) => {
                    self.viewers
                        .get(token)
                        .cloned()
                        .ok_or(crate::auth::AuthenticationFailure {
                            message: "Unknown test token.".to_owned(),
                        })
                }
            }
        })
    }
}

/// The router secret of [`strict_test_config`].
pub const TEST_ROUTER_SECRET: &str = "test-router-secret-0123456789";

impl TestApp {
    /// POSTs a GraphQL request with `Authorization: Bearer <token>`.
    pub async fn graphql_as(
        &self,
        token: &str,
        query: &str,
        variables: serde_json::Value,
    ) -> TestResponse {
        self.graphql_with(Some(token), false, query, variables)
            .await
    }

    /// POSTs a GraphQL request as the router would send it: with the
    /// router secret of [`strict_test_config`].
    pub async fn graphql_via_router(
        &self,
        token: &str,
        query: &str,
        variables: serde_json::Value,
    ) -> TestResponse {
        self.graphql_with(Some(token), true, query, variables).await
    }

    async fn graphql_with(
        &self,
        token: Option<&str>,
        via_router: bool,
        query: &str,
        variables: serde_json::Value,
    ) -> TestResponse {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json")
            .body(serde_json::json!({ "query": query, "variables": variables }).to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if via_router {
            request = request.header(crate::request::ROUTER_SECRET_HEADER, TEST_ROUTER_SECRET);
        }
        let response = request.send().await.expect("the test app answers");
        Self::read(response).await
    }
}
