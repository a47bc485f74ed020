// A page's one request: runs the page's operation when the page is shown
// or its variables change, never again for a renewed access token, and
// exposes loading, error and partial-data states.
import { useEffect, useRef, useState } from "react";
import { execute, transportError, type GraphQLErrorEntry } from "./graphql/client";
import type { Operation } from "./graphql/operations";
import { accessTokenOf, useSession } from "./session";

export type PageState<Result> =
  | { status: "waiting-for-session" }
  | { status: "loading" }
  | { status: "failed"; errors: GraphQLErrorEntry[] }
  | { status: "ready"; data: Result; errors: GraphQLErrorEntry[]; complete: boolean };

export function usePageQuery<Result, Variables>(
  operation: Operation<Result, Variables>,
  variables: Variables,
): PageState<Result> {
  const { session } = useSession();
  const [state, setState] = useState<PageState<Result>>({ status: "loading" });
  // The token is read when the request is sent; a renewal mid-page does
  // not send the page's request again.
  const token = useRef<string | null>(accessTokenOf(session));
  token.current = accessTokenOf(session);
  const identity = session.status === "signed-in" ? session.userId : session.status;
  const variablesKey = JSON.stringify(variables);

  useEffect(() => {
    if (identity === "restoring") {
      setState({ status: "waiting-for-session" });
      return;
    }
    const controller = new AbortController();
    setState({ status: "loading" });
    execute(operation, JSON.parse(variablesKey) as Variables, {
      accessToken: token.current,
      signal: controller.signal,
      onUpdate: (partial) => {
        if (partial.data !== null) {
          setState({ status: "ready", data: partial.data, errors: partial.errors, complete: partial.complete });
        }
      },
    })
      .then((result) => {
        if (controller.signal.aborted) return;
        setState(
          result.data === null
            ? { status: "failed", errors: result.errors }
            : { status: "ready", data: result.data, errors: result.errors, complete: true },
        );
      })
      .catch((error: unknown) => {
        // Aborted because the page changed: the new request owns the state.
        if (controller.signal.aborted) return;
        // The answer broke off (a multipart stream cut mid-way, say).
        setState({ status: "failed", errors: [transportError("NETWORK_ERROR", String(error))] });
      });
    return () => controller.abort();
  }, [operation, variablesKey, identity]);

  return state;
}
