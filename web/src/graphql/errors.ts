// What the app tells a person for each error code the supergraph uses.
// Codes are stable (the subgraphs and the router set them); messages are
// not, so the words come from here and the code is shown beside them.

const wordsByCode: Record<string, string> = {
  UNAUTHENTICATED: "You need to sign in to see this.",
  FORBIDDEN: "Your account is not allowed to see or do this.",
  NOT_FOUND: "We could not find it. It may have been removed.",
  BAD_USER_INPUT: "Something in the form is not valid.",
  CONFLICT: "This was already done.",
  RATE_LIMITED: "Too many attempts. Please wait a moment and try again.",
  JOB_CLOSED: "This job no longer takes applications.",
  INVALID_CURSOR: "That page of results no longer exists. Start from the first page.",
  PAGE_SIZE_EXCEEDED: "That page is too large.",
  PLAN_CHANGE_NOT_ALLOWED: "That plan change is not allowed for this organization.",
  OPERATION_NOT_TRUSTED: "This version of the app is not registered. Reload the page.",
  PERSISTED_QUERY_NOT_FOUND: "The server did not know this request. Reload the page.",
  SUBREQUEST_HTTP_ERROR: "Part of the service is unavailable right now.",
  SUBREQUEST_TIMEOUT: "Part of the service took too long to answer.",
  GATEWAY_TIMEOUT: "The service took too long to answer.",
  INTERNAL_SERVER_ERROR: "Something went wrong on our side. Please try again.",
  NETWORK_ERROR: "We could not reach the service. Check your connection.",
  HTTP_ERROR: "The service answered with an error.",
};

export function errorInWords(code: string | undefined): string {
  return (code && wordsByCode[code]) || "Something went wrong. Please try again.";
}
