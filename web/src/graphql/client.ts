// One GraphQL request per call, to the router, as the GraphQL-over-HTTP
// specification and Apollo's extensions describe it:
//
// * documents by id in production (the persisted-query extension), with
//   the text sent once more only when the router answers
//   PERSISTED_QUERY_NOT_FOUND (its cache is empty after a restart);
// * `@defer` answers as `multipart/mixed` parts, merged into the data and
//   handed to `onUpdate` as each part arrives;
// * a query whose connection failed before any answer is sent once more
//   at once: Apollo Router 2.17 can close a connection under a request
//   while it hot-reloads a new supergraph (docs/drill.md), and a query
//   changes nothing, so sending it twice is safe. A mutation is never sent
//   again here: the user submits it again (a checkout with the same
//   idempotency key, so it cannot charge twice).
import { graphqlUrl, sendDocumentsById } from "../config";
import type { Operation } from "./operations";

export interface GraphQLErrorEntry {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: { code?: string; [key: string]: unknown };
}

export interface OperationResult<Result> {
  /** `null` when the router returned no data at all. */
  data: Result | null;
  /** Errors of the whole response, including the deferred parts'. */
  errors: GraphQLErrorEntry[];
  /** False while deferred parts are still to come. */
  complete: boolean;
}

export interface ExecuteOptions<Result> {
  accessToken?: string | null;
  signal?: AbortSignal;
  /** Called with the data so far after each part of a deferred answer. */
  onUpdate?: (partial: OperationResult<Result>) => void;
}

/** A request that produced no GraphQL answer (network or HTTP failure). */
export function transportError(code: string, message: string): GraphQLErrorEntry {
  return { message, extensions: { code } };
}

const accept = "multipart/mixed;deferSpec=20220824, application/graphql-response+json, application/json";

export async function execute<Result, Variables>(
  operation: Operation<Result, Variables>,
  variables: Variables,
  options: ExecuteOptions<Result> = {},
): Promise<OperationResult<Result>> {
  if (sendDocumentsById) {
    const byId = await send(operation, variables, options, false);
    const notFound = byId.errors.some(
      (error) =>
        error.extensions?.code === "PERSISTED_QUERY_NOT_FOUND" ||
        error.message === "PersistedQueryNotFound",
    );
    if (!notFound) return byId;
  }
  return send(operation, variables, options, true);
}

/** Whether the document runs no mutation (its text, comments aside). */
function isQuery(operation: Operation<unknown, unknown>): boolean {
  return !/^\s*mutation\b/m.test(operation.text);
}

async function send<Result, Variables>(
  operation: Operation<Result, Variables>,
  variables: Variables,
  options: ExecuteOptions<Result>,
  withText: boolean,
): Promise<OperationResult<Result>> {
  const body: Record<string, unknown> = { operationName: operation.name, variables };
  if (withText) body.query = operation.text;
  if (sendDocumentsById) {
    body.extensions = { persistedQuery: { version: 1, sha256Hash: operation.sha256 } };
  }
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept,
  };
  if (options.accessToken) headers.authorization = `Bearer ${options.accessToken}`;
  const request = () =>
    fetch(graphqlUrl, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal: options.signal ?? null,
    });
  let response: Response;
  try {
    response = await request();
  } catch (error) {
    if (options.signal?.aborted) throw error;
    if (!isQuery(operation as Operation<unknown, unknown>)) {
      return failed(transportError("NETWORK_ERROR", String(error)));
    }
    try {
      response = await request();
    } catch (again) {
      if (options.signal?.aborted) throw again;
      return failed(transportError("NETWORK_ERROR", String(again)));
    }
  }
  const contentType = response.headers.get("content-type") ?? "";
  if (contentType.startsWith("multipart/mixed")) {
    return readMultipart(response, contentType, options);
  }
  let payload: unknown;
  try {
    payload = await response.json();
  } catch {
    return failed(transportError("HTTP_ERROR", `HTTP ${response.status} without a GraphQL answer`));
  }
  const result = asResult<Result>(payload);
  if (result.data === null && result.errors.length === 0) {
    return failed(transportError("HTTP_ERROR", `HTTP ${response.status} without a GraphQL answer`));
  }
  return result;
}

function failed<Result>(error: GraphQLErrorEntry): OperationResult<Result> {
  return { data: null, errors: [error], complete: true };
}

function asResult<Result>(payload: unknown): OperationResult<Result> {
  const object = (payload ?? {}) as { data?: Result | null; errors?: GraphQLErrorEntry[] };
  return { data: object.data ?? null, errors: object.errors ?? [], complete: true };
}

/**
 * Reads a `multipart/mixed` answer part by part: the first part holds the
 * initial data, later parts `incremental` patches at a path, the last one
 * `hasNext: false`.
 */
async function readMultipart<Result>(
  response: Response,
  contentType: string,
  options: ExecuteOptions<Result>,
): Promise<OperationResult<Result>> {
  const boundaryMatch = /boundary="?([^";]+)"?/i.exec(contentType);
  const delimiter = `--${boundaryMatch?.[1] ?? "-"}`;
  const result: OperationResult<Result> = { data: null, errors: [], complete: false };
  const reader = response.body?.getReader();
  if (!reader) return failed(transportError("HTTP_ERROR", "an empty multipart answer"));
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buffered += decoder.decode(value, { stream: true });
    let end: number;
    // Every complete part lies between two delimiters.
    while ((end = buffered.indexOf(delimiter, 1)) !== -1 || (done && buffered.length > 0)) {
      const chunk = end === -1 ? buffered : buffered.slice(0, end);
      buffered = end === -1 ? "" : buffered.slice(end);
      applyPart(chunk, delimiter, result);
      if (end === -1) break;
    }
    options.onUpdate?.({ ...result });
    if (done || result.complete) break;
  }
  result.complete = true;
  return result;
}

function applyPart<Result>(chunk: string, delimiter: string, result: OperationResult<Result>): void {
  const withoutDelimiter = chunk.startsWith(delimiter) ? chunk.slice(delimiter.length) : chunk;
  const separator = withoutDelimiter.indexOf("\r\n\r\n");
  if (separator === -1) return;
  const json = withoutDelimiter.slice(separator + 4).trim();
  if (!json) return;
  let part: {
    data?: Result;
    errors?: GraphQLErrorEntry[];
    hasNext?: boolean;
    incremental?: Array<{ data?: Record<string, unknown>; path?: Array<string | number>; errors?: GraphQLErrorEntry[] }>;
  };
  try {
    part = JSON.parse(json);
  } catch {
    return;
  }
  // Only the first part carries the initial data. Apollo Router closes some
  // streams with a last part of `{"data": null, "hasNext": false}`, which
  // must not wipe what arrived.
  if (result.data === null && part.data != null) result.data = part.data;
  if (part.errors) result.errors.push(...part.errors);
  for (const increment of part.incremental ?? []) {
    if (increment.errors) result.errors.push(...increment.errors);
    if (increment.data && result.data) {
      mergeAt(result.data as unknown as Record<string, unknown>, increment.path ?? [], increment.data);
    }
  }
  if (part.hasNext === false) result.complete = true;
}

function mergeAt(target: Record<string, unknown>, path: ReadonlyArray<string | number>, patch: Record<string, unknown>): void {
  let node: unknown = target;
  for (const key of path) {
    if (node === null || typeof node !== "object") return;
    node = (node as Record<string | number, unknown>)[key];
  }
  if (node !== null && typeof node === "object") Object.assign(node, patch);
}
