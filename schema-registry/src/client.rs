//! The CLI's side of the registry's HTTP API.
//!
//! The token comes from `SCHEMA_REGISTRY_TOKEN`, never from a flag, so it
//! stays out of shell history and process listings.

use std::future::Future;
use std::time::Duration;

use serde_json::Value;

use crate::RegistryError;

/// The variable that holds the registry token.
pub const TOKEN_VARIABLE: &str = "SCHEMA_REGISTRY_TOKEN";

/// A supergraph fetched from the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedSupergraph {
    pub sdl: String,
    pub etag: String,
    pub version: String,
}

/// A registry answer that carries a body worth showing, error or not.
#[derive(Debug, Clone)]
pub struct RegistryAnswer {
    pub status: u16,
    pub body: Value,
}

/// Talks to one registry.
pub struct RegistryClient {
    base_url: String,
    token: Option<String>,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl RegistryClient {
    /// A client for `base_url` with the token from the environment.
    pub fn from_env(base_url: &str) -> Result<Self, RegistryError> {
        Self::new(
            base_url,
            std::env::var(TOKEN_VARIABLE)
                .ok()
                .filter(|token| !token.trim().is_empty()),
        )
    }

    pub fn new(base_url: &str, token: Option<String>) -> Result<Self, RegistryError> {
        let unreachable = |message: String| RegistryError::RegistryUnreachable {
            url: base_url.to_owned(),
            message,
        };
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(unreachable(
                "the registry URL must start with http:// or https://".to_owned(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|error| unreachable(error.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| unreachable(error.to_string()))?;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
            http,
            runtime,
        })
    }

    /// Runs one of this client's requests to completion.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    fn unreachable(&self, error: impl std::fmt::Display) -> RegistryError {
        RegistryError::RegistryUnreachable {
            url: self.base_url.clone(),
            message: error.to_string(),
        }
    }

    /// Sends a request and reads a JSON answer; statuses in `accepted`
    /// come back as answers, any other as a [`RegistryError::Registry`]
    /// carrying the registry's own message.
    async fn send(
        &self,
        builder: reqwest::RequestBuilder,
        accepted: &[u16],
    ) -> Result<RegistryAnswer, RegistryError> {
        let response = builder
            .send()
            .await
            .map_err(|error| self.unreachable(error))?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|error| self.unreachable(error))?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if (200..300).contains(&status) || accepted.contains(&status) {
            return Ok(RegistryAnswer { status, body });
        }
        Err(RegistryError::Registry {
            status,
            message: error_message(&body),
        })
    }

    /// The latest supergraph; `Ok(None)` when it still has `if_none_match`.
    pub async fn latest_supergraph(
        &self,
        if_none_match: Option<&str>,
    ) -> Result<Option<FetchedSupergraph>, RegistryError> {
        let mut builder = self.request(reqwest::Method::GET, "/api/supergraph");
        if let Some(tag) = if_none_match {
            builder = builder.header(reqwest::header::IF_NONE_MATCH, tag);
        }
        let response = builder
            .send()
            .await
            .map_err(|error| self.unreachable(error))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let (etag, version) = (header("etag"), header("x-supergraph-version"));
        if status == 304 {
            return Ok(None);
        }
        let text = response
            .text()
            .await
            .map_err(|error| self.unreachable(error))?;
        if status != 200 {
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            return Err(RegistryError::Registry {
                status,
                message: error_message(&body),
            });
        }
        Ok(Some(FetchedSupergraph {
            sdl: text,
            etag,
            version,
        }))
    }

    /// Publishes (or, with `dry_run`, only checks) a subgraph schema. A
    /// refusal (409, 422) is an answer, not an error: it carries the report.
    pub async fn publish(
        &self,
        subgraph: &str,
        body: &crate::api::PublishRequest,
        dry_run: bool,
    ) -> Result<RegistryAnswer, RegistryError> {
        let path = if dry_run {
            format!("/api/subgraphs/{subgraph}/checks")
        } else {
            format!("/api/subgraphs/{subgraph}/versions")
        };
        self.send(
            self.request(reqwest::Method::POST, &path).json(body),
            &[409, 422],
        )
        .await
    }

    /// A GET returning JSON.
    pub async fn get_json(&self, path: &str) -> Result<Value, RegistryError> {
        Ok(self
            .send(self.request(reqwest::Method::GET, path), &[])
            .await?
            .body)
    }

    /// Registers client operations; an invalid document (422) is an answer.
    pub async fn register_operations(
        &self,
        body: &crate::api::RegisterOperationsRequest,
    ) -> Result<RegistryAnswer, RegistryError> {
        self.send(
            self.request(reqwest::Method::POST, "/api/operations")
                .json(body),
            &[422],
        )
        .await
    }
}

/// `error.code: error.message` from a registry error body.
pub fn error_message(body: &Value) -> String {
    match (
        body["error"]["code"].as_str(),
        body["error"]["message"].as_str(),
    ) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ => match body {
            Value::String(text) => text.chars().take(500).collect(),
            other => other.to_string(),
        },
    }
}
