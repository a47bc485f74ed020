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
