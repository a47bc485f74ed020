//! Subgraph versions: publish, check, list, history, one version, diff.

use super::*;

/// What a publication or check runs against: the proposal in place of the
/// subgraph's latest version, the others at their latest.
struct Proposal {
    inputs: Vec<SubgraphInput>,
    routing_url: String,
    current: Option<store::SubgraphVersionRow>,
}

fn proposal(
    name: &str,
    request: &PublishRequest,
    latest: Vec<store::SubgraphVersionRow>,
) -> Result<Proposal, ApiError> {
    if request.sdl.trim().is_empty() {
        return Err(ApiError::bad_request("sdl is empty"));
    }
    if let Some(url) = &request.routing_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(ApiError::bad_request(format!(
            "routing_url {url:?} must be an http(s) URL"
        )));
    }
    let current = latest.iter().find(|row| row.subgraph == name).cloned();
    let routing_url = match (&request.routing_url, &current) {
        (Some(url), _) => url.clone(),
        (None, Some(current)) => current.routing_url.clone(),
        (None, None) => {
            return Err(ApiError::bad_request(format!(
                "{name} has no published version yet, so its first publication needs routing_url"
            )));
        }
    };
    let mut inputs: Vec<SubgraphInput> = latest
        .into_iter()
        .filter(|row| row.subgraph != name)
        .map(|row| SubgraphInput {
            name: row.subgraph,
            routing_url: row.routing_url,
            sdl: row.sdl,
        })
        .collect();
    inputs.push(SubgraphInput {
        name: name.to_owned(),
        routing_url: routing_url.clone(),
        sdl: request.sdl.clone(),
    });
    inputs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Proposal {
        inputs,
        routing_url,
        current,
    })
}

/// Runs the check off the async threads: composition is CPU work.
async fn run_check(
    name: &str,
    inputs: Vec<SubgraphInput>,
    baseline: Option<store::SupergraphRow>,
    operations: Vec<OperationDocument>,
) -> Result<(CheckReport, Option<crate::ComposedSupergraph>), ApiError> {
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || {
        check_proposal(
            &inputs,
            &name,
            baseline
                .as_ref()
                .map(|supergraph| (supergraph.sdl.as_str(), FilePath::new("registry"))),
            &operations,
        )
    })
    .await
    .map_err(|error| {
        tracing::error!(%error, "the check task failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "internal error; the registry logged the details",
        )
    })?
    .map_err(ApiError::from)
}

/// What a publication changes about whom the router trusts, apart from the
/// schema check: each needs an approval like a breaking change, because a
/// write token alone must not be able to point the router somewhere new,
/// take fields over from another team's subgraph, or become a second
/// resolver of a field another subgraph resolves (a `@shareable` field:
/// the router may then send that field's requests to it). Read from the
/// parsed schemas (`crate::trust`), so no spelling of a directive slips by.
fn trust_changes(
    name: &str,
    request: &PublishRequest,
    routing_url: &str,
    current: Option<&store::SubgraphVersionRow>,
    others: &[SubgraphInput],
) -> Vec<String> {
    let mut changes = Vec::new();
    match current {
        None if !others.is_empty() => changes.push(format!(
            "{name} is a new subgraph: the router would send it requests (with users' tokens) at {routing_url}"
        )),
        Some(current) if current.routing_url != routing_url => changes.push(format!(
            "the routing URL of {name} changes from {} to {routing_url}",
            current.routing_url
        )),
        None | Some(_) => {}
    }
    let previous_overrides = current
        .map(|current| crate::trust::overridden_fields(&current.sdl))
        .unwrap_or_default();
    let overrides = crate::trust::overridden_fields(&request.sdl);
    for (field, from) in &overrides {
        if previous_overrides.get(field) != Some(from) {
            changes.push(format!(
                "{name} takes a field over from another subgraph: {field} (from: {from:?})"
            ));
        }
    }
    let previously_resolved = current
        .map(|current| crate::trust::resolved_fields(&current.sdl))
        .unwrap_or_default();
    // A field taken over is listed above already.
    let newly_resolved: Vec<String> = crate::trust::resolved_fields(&request.sdl)
        .into_iter()
        .filter(|field| !previously_resolved.contains(field) && !overrides.contains_key(field))
        .collect();
    if !newly_resolved.is_empty() {
        for other in others {
            let theirs = crate::trust::resolved_fields(&other.sdl);
            for field in newly_resolved
                .iter()
                .filter(|field| theirs.contains(*field))
            {
                changes.push(format!(
                    "{name} would also resolve {field}, which {} resolves: the router may send that field's requests to {name}",
                    other.name
                ));
            }
        }
    }
    changes
}

fn summary(report: &CheckReport) -> String {
    let breaking = report
        .changes
        .iter()
        .filter(|checked| checked.change.criticality == crate::diff::Criticality::Breaking)
        .count();
    format!(
        "{breaking} breaking change(s) and {} operation(s) that would no longer validate",
        report.invalid_operations.len()
    )
}

/// `POST /api/subgraphs/{name}/versions`: check and publish.
#[tracing::instrument(skip(state, headers, body))]
pub async fn publish(
    State(state): State<RegistryState>,
    Authorized { caller, .. }: Authorized<Write>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    validate_subgraph_name(&name)?;
    let request: PublishRequest = json_body(&headers, &body)?;
    let approval_reason = match &request.approval {
        Some(approval) if approval.reason.trim().is_empty() => {
            return Err(ApiError::bad_request(
                "an approval needs a reason: say why breaking these clients is acceptable",
            ));
        }
        Some(approval) => Some(approval.reason.trim().to_owned()),
        None => None,
    };
    let mut transaction = state.database.begin().await?;
    store::lock_publications(&mut transaction).await?;
    let latest = store::latest_subgraph_versions(&mut transaction).await?;
    let Proposal {
        inputs,
        routing_url,
        current,
    } = proposal(&name, &request, latest)?;
    let sdl_sha256 = sha256_hex(&request.sdl);
    if let Some(current) = &current
        && current.sdl_sha256 == sdl_sha256
        && current.routing_url == routing_url
    {
        return Ok((
            StatusCode::OK,
            Json(json!({
                "subgraph": name,
                "version": current.version,
                "unchanged": true,
                "message": format!("{name} version {} already has this schema", current.version),
            })),
        )
            .into_response());
    }
    let baseline = store::latest_supergraph_locked(&mut transaction).await?;
    let registered = store::all_operations_locked(&mut transaction).await?;
    let operations = operations_valid_today(&registered, baseline.as_ref());
    let others: Vec<SubgraphInput> = inputs
        .iter()
        .filter(|input| input.name != name)
        .cloned()
        .collect();
    let (report, composed) = run_check(&name, inputs, baseline.clone(), operations).await?;
    let report_json = report_value(&report);
    if !report.composition_errors.is_empty() {
        return Err(ApiError {
            report: Some(report_json),
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "COMPOSITION_FAILED",
                format!(
                    "{name} does not compose with the other subgraphs ({} error(s)); nothing was published",
                    report.composition_errors.len()
                ),
            )
        });
    }
    let Some(composed) = composed else {
        return Err(
            RegistryError::ServerConfig("composition gave no supergraph".to_owned()).into(),
        );
    };
    let trust = trust_changes(&name, &request, &routing_url, current.as_ref(), &others);
    let passed = report.passed() && trust.is_empty();
    if !passed && approval_reason.is_none() {
        let mut report_json = report_json.clone();
        report_json["trust_changes"] = json!(trust);
        let mut reasons = Vec::new();
        if !report.passed() {
            reasons.push(format!("the check failed with {}", summary(&report)));
        }
        if !trust.is_empty() {
            reasons.push(format!(
                "it changes what the router trusts ({})",
                trust.join("; ")
            ));
        }
        return Err(ApiError {
            report: Some(report_json),
            ..ApiError::new(
                StatusCode::CONFLICT,
                "APPROVAL_REQUIRED",
                format!(
                    "{}; a token with the approve scope must publish it again with an approval and its reason",
                    reasons.join(", and ")
                ),
            )
        });
    }
    if !passed && !caller.allows(Scope::Approve) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "INSUFFICIENT_SCOPE",
            format!(
                "approving needs a token with the approve scope; {} can publish but not approve, so someone else must",
                caller.token_name
            ),
        ));
    }
    let supergraph_sha256 = sha256_hex(&composed.sdl);
    let supergraph_id = match &baseline {
        Some(baseline) if baseline.sdl_sha256 == supergraph_sha256 => baseline.id,
        _ => {
            store::insert_supergraph(
                &mut transaction,
                &composed.sdl,
                &composed.api_sdl,
                &supergraph_sha256,
            )
            .await?
        }
    };
    let version = current.as_ref().map_or(1, |current| current.version + 1);
    let subgraph_version_id = store::insert_subgraph_version(
        &mut transaction,
        &NewSubgraphVersion {
            subgraph: &name,
            version,
            routing_url: &routing_url,
            sdl: &request.sdl,
            sdl_sha256: &sdl_sha256,
            published_by: &caller.token_name,
            supergraph_version_id: supergraph_id,
            changes_json: report_json["changes"].to_string(),
        },
    )
    .await?;
    let approval = match (&approval_reason, passed) {
        (Some(reason), false) => {
            let mut approved = report_json.clone();
            approved["trust_changes"] = json!(trust);
            store::insert_approval(
                &mut transaction,
                subgraph_version_id,
                &caller.token_name,
                reason,
                &approved.to_string(),
            )
            .await?;
            json!({ "approved_by": caller.token_name, "reason": reason })
        }
        _ => Value::Null,
    };
    transaction.commit().await?;
    // The database is the record; a failed file write is logged and retried
    // at the next publication or restart rather than undoing the publication.
    if let Err(error) = state.write_supergraph_file().await {
        tracing::error!(%error, "could not write the supergraph file");
    }
    tracing::info!(subgraph = %name, version, publisher = %caller.token_name, approved = !approval.is_null(), "published");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "subgraph": name,
            "version": version,
            "unchanged": false,
            "supergraph": { "version": supergraph_id, "etag": entity_tag(&supergraph_sha256) },
            "approval": approval,
            "approval_needed": !passed,
            "report": report_json,
        })),
    )
        .into_response())
}

/// `POST /api/subgraphs/{name}/checks`: the publication's check, storing nothing.
#[tracing::instrument(skip(state, headers, body, _access))]
pub async fn check(
    State(state): State<RegistryState>,
    _access: Authorized<Read>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    validate_subgraph_name(&name)?;
    let request: PublishRequest = json_body(&headers, &body)?;
    let Ok(_slot) = state.dry_run_checks.clone().try_acquire_owned() else {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TOO_MANY_CHECKS",
            format!(
                "{} checks are running; try again in a moment",
                crate::server::MAX_CONCURRENT_DRY_RUN_CHECKS
            ),
        ));
    };
    let latest = store::list_subgraphs(&state.database).await?;
    let Proposal { inputs, .. } = proposal(&name, &request, latest)?;
    let baseline = store::latest_supergraph(&state.database).await?;
    let registered = store::all_operations(&state.database).await?;
    let operations = operations_valid_today(&registered, baseline.as_ref());
    let (report, _) = run_check(&name, inputs, baseline, operations).await?;
    Ok(Json(json!({
        "subgraph": name,
        "passed": report.passed(),
        "report": report_value(&report),
    }))
    .into_response())
}

/// `GET /api/subgraphs`: every subgraph's latest version.
#[tracing::instrument(skip_all)]
pub async fn list_subgraphs(
    State(state): State<RegistryState>,
    _access: Authorized<Read>,
) -> ApiResult {
    let rows = store::list_subgraphs(&state.database).await?;
    Ok(Json(json!({
        "subgraphs": rows.iter().map(|row| json!({
            "name": row.subgraph,
            "version": row.version,
            "routing_url": row.routing_url,
            "sdl_sha256": row.sdl_sha256,
            "published_by": row.published_by,
            "published_at": row.published_at,
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `GET /api/subgraphs/{name}/versions`: history, newest first.
#[tracing::instrument(skip(state, _access))]
pub async fn history(
    State(state): State<RegistryState>,
    _access: Authorized<Read>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    validate_subgraph_name(&name)?;
    let rows = store::subgraph_history(&state.database, &name).await?;
    if rows.is_empty() {
        return Err(ApiError::not_found(format!(
            "{name} has no published version"
        )));
    }
    let versions: Vec<Value> = rows
        .iter()
        .map(|row| {
            let changes: Value = serde_json::from_str(&row.changes).unwrap_or(Value::Null);
            json!({
                "version": row.version,
                "routing_url": row.routing_url,
                "sdl_sha256": row.sdl_sha256,
                "published_by": row.published_by,
                "published_at": row.published_at,
                "supergraph_version": row.supergraph_version_id,
                "changes": changes,
                "approval": row.approved_by.as_ref().map(|approved_by| json!({
                    "approved_by": approved_by,
                    "reason": row.approval_reason,
                    "approved_at": row.approved_at,
                })),
            })
        })
        .collect();
    Ok(Json(json!({ "subgraph": name, "versions": versions })).into_response())
}

/// `GET /api/subgraphs/{name}/versions/{version}` (`latest` allowed).
#[tracing::instrument(skip(state, _access))]
pub async fn subgraph_version(
    State(state): State<RegistryState>,
    _access: Authorized<Read>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    validate_subgraph_name(&name)?;
    let wanted = match version.as_str() {
        "latest" => None,
        text => Some(parse_version(text)?),
    };
    let Some(row) = store::subgraph_version(&state.database, &name, wanted).await? else {
        return Err(ApiError::not_found(format!(
            "{name} has no version {version}"
        )));
    };
    Ok(Json(json!({
        "subgraph": row.subgraph,
        "version": row.version,
        "routing_url": row.routing_url,
        "sdl": row.sdl,
        "sdl_sha256": row.sdl_sha256,
        "published_by": row.published_by,
        "published_at": row.published_at,
        "supergraph_version": row.supergraph_version_id,
    }))
    .into_response())
}

/// `GET /api/subgraphs/{name}/diff?from=N&to=M`: the classified changes
/// between two versions of a subgraph's schema (`to` defaults to the
/// latest, `from` to the version before `to`).
#[tracing::instrument(skip(state, _access))]
pub async fn diff_versions(
    State(state): State<RegistryState>,
    _access: Authorized<Read>,
    Path(name): Path<String>,
    Query(parameters): Query<DiffParameters>,
    headers: HeaderMap,
) -> ApiResult {
    validate_subgraph_name(&name)?;
    let to_version = parameters.to.as_deref().map(parse_version).transpose()?;
    let Some(to) = store::subgraph_version(&state.database, &name, to_version).await? else {
        return Err(ApiError::not_found(format!(
            "{name} has no version {}",
            parameters.to.as_deref().unwrap_or("at all")
        )));
    };
    let from_version = match parameters.from.as_deref() {
        Some(text) => parse_version(text)?,
        None if to.version > 1 => to.version - 1,
        None => {
            return Err(ApiError::bad_request(format!(
                "{name} version {} is the first; name a `from` version",
                to.version
            )));
        }
    };
    let Some(from) = store::subgraph_version(&state.database, &name, Some(from_version)).await?
    else {
        return Err(ApiError::not_found(format!(
            "{name} has no version {from_version}"
        )));
    };
    let (from_number, to_number) = (from.version, to.version);
    let changes = tokio::task::spawn_blocking(move || {
        let old = crate::compose::subgraph_schema(&from.subgraph, &from.routing_url, &from.sdl)?;
        let new = crate::compose::subgraph_schema(&to.subgraph, &to.routing_url, &to.sdl)?;
        Ok::<_, String>(crate::diff::diff_schemas(&old, &new))
    })
    .await
    .map_err(|error| RegistryError::ServerConfig(error.to_string()))?
    .map_err(|message| RegistryError::ServerConfig(format!("stored schema invalid: {message}")))?;
    Ok(Json(json!({
        "subgraph": name,
        "from": from_number,
        "to": to_number,
        "changes": changes,
    }))
    .into_response())
}
