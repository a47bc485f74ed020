//! The composed supergraph, for routers and `schema-check fetch`.

use super::*;

/// Whether an `If-None-Match` header matches `tag` (weak comparison, as
/// RFC 9110 asks for this header).
pub(super) fn matches_if_none_match(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|candidate| candidate.trim().trim_start_matches("W/"))
        .any(|candidate| candidate == "*" || candidate == tag)
}

/// `GET /api/supergraph`: the latest composed supergraph, with an ETag.
#[tracing::instrument(skip_all)]
pub async fn latest_supergraph(
    State(state): State<RegistryState>,
    _access: Authorized<Read>,
    headers: HeaderMap,
) -> ApiResult {
    let Some(supergraph) = store::latest_supergraph(&state.database).await? else {
        return Err(ApiError::not_found(
            "no supergraph has been composed yet: publish a subgraph first",
        ));
    };
    let tag = entity_tag(&supergraph.sdl_sha256);
    let common = [
        (header::ETAG, tag.clone()),
        (header::CACHE_CONTROL, "no-cache".to_owned()),
        (
            header::HeaderName::from_static("x-supergraph-version"),
            supergraph.id.to_string(),
        ),
    ];
    if matches_if_none_match(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    Ok((
        StatusCode::OK,
        common,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        supergraph.sdl,
    )
        .into_response())
}
