//! Client operations: registration, lookup by hash, the safelist.

use super::*;

fn operation_type_name(operation_type: OperationType) -> &'static str {
    match operation_type {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

/// `POST /api/operations`: registers a client version's operations. Each
/// document must be valid against the latest supergraph's API schema and
/// name its operations; a name already registered for this client version
/// with another document is refused, since released clients do not change.
#[tracing::instrument(skip(state, headers, body))]
pub async fn register_operations(
    State(state): State<RegistryState>,
    Authorized { caller, .. }: Authorized<Register>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let request: RegisterOperationsRequest = json_body(&headers, &body)?;
    let client = request.client.trim();
    let client_version = request.client_version.trim();
    if client.is_empty() || client_version.is_empty() {
        return Err(ApiError::bad_request(
            "client and client_version must not be empty",
        ));
    }
    if request.documents.is_empty() {
        return Err(ApiError::bad_request("documents is empty"));
    }
    let Some(baseline) = store::latest_supergraph(&state.database).await? else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "NO_SUPERGRAPH",
            "no supergraph has been composed yet, so operations cannot be validated: publish the subgraphs first",
        ));
    };
    let api = api_schema_of_supergraph(&baseline.sdl, FilePath::new("registry"))?;
    let mut parsed = Vec::new();
    let mut problems = Vec::new();
    for (index, document) in request.documents.iter().enumerate() {
        let origin = format!("documents[{index}]");
        match ExecutableDocument::parse_and_validate(&api, document, &origin) {
            Err(errors) => {
                problems.push(json!({ "document": index, "message": errors.to_string() }))
            }
            Ok(valid) => {
                if valid.operations.anonymous.is_some() {
                    problems.push(json!({
                        "document": index,
                        "message": "an anonymous operation cannot be registered: name it",
                    }));
                    continue;
                }
                let digest = sha256_hex(document);
                for (name, operation) in valid.operations.named.iter() {
                    parsed.push((
                        name.to_string(),
                        operation_type_name(operation.operation_type),
                        digest.clone(),
                        document.clone(),
                    ));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(ApiError {
            report: Some(json!({ "invalid_documents": problems })),
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "INVALID_OPERATION",
                format!(
                    "{} document(s) do not validate against the latest supergraph; nothing was registered",
                    problems.len()
                ),
            )
        });
    }
    let mut transaction = state.database.begin().await?;
    let mut registered = Vec::new();
    let mut already = 0_usize;
    let mut new = 0_usize;
    for (name, operation_type, digest, document) in &parsed {
        let (inserted, stored_digest) = store::insert_operation(
            &mut transaction,
            &NewOperation {
                client_name: client,
                client_version,
                operation_name: name,
                operation_type,
                document_sha256: digest,
                document,
                registered_by: &caller.token_name,
            },
        )
        .await?;
        if !inserted && stored_digest != *digest {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "OPERATION_CHANGED",
                format!(
                    "{client} {client_version} already registered {name} with another document; register a new client version instead"
                ),
            ));
        }
        if inserted {
            new += 1;
        } else {
            already += 1;
        }
        registered.push(json!({ "name": name, "type": operation_type, "document_sha256": digest }));
    }
    transaction.commit().await?;
    if new > 0 {
        // The registration stands even if the file cannot be written; the
        // next registration or restart writes it. The router keeps the last
        // list it read, so nothing is admitted that was not registered.
        if let Err(error) = state.write_trusted_documents_file().await {
            tracing::error!(error = %error, "could not write the trusted documents for the router");
        }
    }
    Ok((
        if new > 0 {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(json!({
            "client": client,
            "client_version": client_version,
            "registered": new,
            "already_registered": already,
            "operations": registered,
        })),
    )
        .into_response())
}

fn operation_json(row: &OperationRow, with_document: bool) -> Value {
    let mut value = json!({
        "client": row.client_name,
        "client_version": row.client_version,
        "name": row.operation_name,
        "type": row.operation_type,
        "document_sha256": row.document_sha256,
        "registered_by": row.registered_by,
        "registered_at": row.registered_at,
    });
    if with_document {
        value["document"] = Value::String(row.document.clone());
    }
    value
}

/// `GET /api/operations`: every registered operation with its document.
#[tracing::instrument(skip_all)]
pub async fn list_operations(
    State(state): State<RegistryState>,
    _access: Authorized<Read>,
) -> ApiResult {
    let rows = store::all_operations(&state.database).await?;
    Ok(Json(json!({
        "operations": rows.iter().map(|row| operation_json(row, true)).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `GET /api/operations/{sha256}`: the safelist lookup. 200 with who
/// registered the document, 404 when it is not on the list.
#[tracing::instrument(skip(state, _access))]
pub async fn operation_by_hash(
    State(state): State<RegistryState>,
    _access: Authorized<Read>,
    Path(sha256): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let digest = sha256.to_ascii_lowercase();
    if digest.len() != 64
        || !digest
            .chars()
            .all(|character| character.is_ascii_hexdigit())
    {
        return Err(ApiError::bad_request(
            "a document digest is 64 hexadecimal characters of SHA-256",
        ));
    }
    let rows = store::operations_by_digest(&state.database, &digest).await?;
    let Some(first) = rows.first() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_REGISTERED",
            "no client registered this document: it is not on the safelist",
        ));
    };
    Ok(Json(json!({
        "document_sha256": digest,
        "document": first.document,
        "operations": rows.iter().map(|row| operation_json(row, false)).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `GET /api/safelist`: every registered document as an Apollo persisted
/// query manifest (`id` is the document's SHA-256), the format routers and
/// gateways that enforce safelists read.
#[tracing::instrument(skip_all)]
pub async fn safelist(State(state): State<RegistryState>, _access: Authorized<Read>) -> ApiResult {
    let rows = store::all_operations(&state.database).await?;
    let mut seen = std::collections::BTreeSet::new();
    let operations: Vec<Value> = rows
        .iter()
        .filter(|row| seen.insert((row.document_sha256.clone(), row.operation_name.clone())))
        .map(|row| {
            json!({
                "id": row.document_sha256,
                "name": row.operation_name,
                "type": row.operation_type,
                "body": row.document,
            })
        })
        .collect();
    Ok(Json(json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": operations,
    }))
    .into_response())
}
