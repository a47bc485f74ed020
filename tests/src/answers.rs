//! The router's answers as the tests read them: one JSON document, or the
//! parts of a `multipart/mixed` (`@defer`) answer merged into one.

/// The router's answer to one request.
#[derive(Debug)]
pub struct RouterResponse {
    pub status: u16,
    /// The answer; for an `@defer` operation, the parts of the multipart
    /// answer merged into one `{data, errors}` body.
    pub body: serde_json::Value,
    /// How many parts the answer came in: 1 for a JSON answer, more for a
    /// multipart (`@defer`) one.
    pub parts: usize,
}

/// The body of a router answer with the number of parts it came in: a
/// `multipart/mixed` (`@defer`) answer merged by [`merge_multipart_answer`],
/// anything else parsed as one JSON document.
pub fn router_answer_body(
    content_type: &str,
    text: &str,
) -> Result<(serde_json::Value, usize), serde_json::Error> {
    if content_type.starts_with("multipart/mixed") {
        Ok(merge_multipart_answer(content_type, text))
    } else {
        serde_json::from_str(text).map(|body| (body, 1))
    }
}

/// Merges the parts of a `multipart/mixed` answer (the router's `@defer`
/// delivery) into one `{data, errors}` body; returns it with the number of
/// parts that carried JSON.
pub fn merge_multipart_answer(content_type: &str, text: &str) -> (serde_json::Value, usize) {
    let boundary = content_type
        .split(';')
        .filter_map(|parameter| parameter.trim().strip_prefix("boundary="))
        .map(|value| value.trim_matches('"'))
        .next()
        .unwrap_or("-");
    let mut data = serde_json::Value::Null;
    let mut errors: Vec<serde_json::Value> = Vec::new();
    let mut parts = 0;
    for part in text.split(&format!("--{boundary}")) {
        let Some((_, json)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let Ok(part) = serde_json::from_str::<serde_json::Value>(json.trim()) else {
            continue;
        };
        if part.as_object().is_some_and(serde_json::Map::is_empty) {
            continue;
        }
        parts += 1;
        // Only the first part carries the initial data: Apollo Router closes
        // some streams with a last part of `{"data": null, "hasNext": false}`.
        if data.is_null()
            && let Some(initial) = part.get("data")
        {
            data = initial.clone();
        }
        errors.extend(part["errors"].as_array().cloned().unwrap_or_default());
        for increment in part["incremental"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            errors.extend(increment["errors"].as_array().cloned().unwrap_or_default());
            let mut target = &mut data;
            for key in increment["path"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                target = match key {
                    serde_json::Value::Number(index) => {
                        &mut target[usize::try_from(index.as_u64().unwrap_or_default())
                            .unwrap_or_default()]
                    }
                    other => &mut target[other.as_str().unwrap_or_default()],
                };
            }
            if let (Some(target), Some(patch)) =
                (target.as_object_mut(), increment["data"].as_object())
            {
                target.extend(patch.clone());
            }
        }
    }
    let mut body = serde_json::json!({ "data": data });
    if !errors.is_empty() {
        body["errors"] = serde_json::Value::Array(errors);
    }
    (body, parts)
}

/// What every client of a router here accepts: `@defer`red operations
/// (JobDetailPage) are answered in parts, which the router sends only to
/// clients that accept `multipart/mixed`.
pub const ACCEPT_ROUTER_ANSWERS: &str = "application/graphql-response+json, application/json;q=0.9, multipart/mixed;deferSpec=20220824;q=0.8";

/// A router's raw answer: its status, its body's text, and that text
/// parsed (`@defer` parts merged) with how many parts it came in, or why
/// it could not be.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub text: String,
    pub parsed: Result<(serde_json::Value, usize), serde_json::Error>,
}

/// Posts `body` (a GraphQL request) to `url` with `token` and `headers`,
/// accepting every answer a router gives; a transport failure is the
/// error.
pub async fn post_to_router(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &serde_json::Value,
    headers: &[(&str, &str)],
) -> Result<RawAnswer, reqwest::Error> {
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", ACCEPT_ROUTER_ANSWERS)
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await?;
    let parsed = router_answer_body(&content_type, &text);
    Ok(RawAnswer {
        status,
        text,
        parsed,
    })
}
