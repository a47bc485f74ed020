// The states every page shares: loading, failed, partial data, empty.
import { useState } from "react";
import type { ReactNode } from "react";
import { errorInWords } from "../graphql/errors";
import type { GraphQLErrorEntry } from "../graphql/client";
import type { PageState } from "../usePageQuery";
import { Link, navigate } from "../navigation";

export function ErrorMessage({ errors }: { errors: GraphQLErrorEntry[] }) {
  const codes = [...new Set(errors.map((error) => error.extensions?.code ?? "UNKNOWN"))];
  return (
    <div className="error" role="alert" data-testid="page-error">
      {codes.map((code) => (
        <p key={code}>
          {errorInWords(code)} <code>{code}</code>
          {code === "UNAUTHENTICATED" && (
            <>
              {" "}
              <Link href="/sign-in">Sign in</Link>
            </>
          )}
        </p>
      ))}
    </div>
  );
}

/**
 * Shown when the page has data and errors: the parts that failed are
 * named, the rest of the page renders.
 */
export function PartialDataNotice({ errors, subject }: { errors: GraphQLErrorEntry[]; subject?: string }) {
  if (errors.length === 0) return null;
  const codes = [...new Set(errors.map((error) => error.extensions?.code ?? "UNKNOWN"))];
  return (
    <div className="notice" role="status" data-testid="partial-notice">
      {subject ?? "Part of this page could not be loaded"}: {errorInWords(codes[0])} <code>{codes.join(", ")}</code>
    </div>
  );
}

/** Renders `children` with the data once the page's request answered. */
export function PageBody<Result>({
  state,
  children,
}: {
  state: PageState<Result>;
  children: (data: Result, errors: GraphQLErrorEntry[], complete: boolean) => ReactNode;
}) {
  switch (state.status) {
    case "waiting-for-session":
    case "loading":
      return (
        <p className="loading" aria-busy="true" data-testid="loading">
          Loading…
        </p>
      );
    case "failed":
      return <ErrorMessage errors={state.errors} />;
    case "ready":
      return <>{children(state.data, state.errors, state.complete)}</>;
  }
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <p className="empty" data-testid="empty">
      {children}
    </p>
  );
}

export function money(cents: number, currency: string): string {
  return new Intl.NumberFormat("en", { style: "currency", currency }).format(cents / 100);
}

export function date(iso: string | null | undefined): string {
  if (!iso) return "";
  return new Date(iso).toLocaleDateString("en", { year: "numeric", month: "short", day: "numeric" });
}

export function Logo({ url, name }: { url: string | null | undefined; name: string }) {
  // A logo that fails to load (a dead link, an offline CDN) falls back to
  // the initial rather than a broken-image icon.
  const [failed, setFailed] = useState(false);
  return url && !failed ? (
    <img className="logo" src={url} alt="" width={40} height={40} loading="lazy" onError={() => setFailed(true)} />
  ) : (
    <span className="logo placeholder" aria-hidden="true">
      {name.slice(0, 1)}
    </span>
  );
}

/** "1 applicant", "3 applicants". */
export function plural(count: number, noun: string): string {
  return `${noun}${count === 1 ? "" : "s"}`;
}

/** An enum value as words: `FULL_TIME` → "full time". */
export function inWords(value: string): string {
  return value.replaceAll("_", " ").toLowerCase();
}

/**
 * "Next page": the current URL with the `after` cursor set, one request more.
 * Filters and cursor live in the URL, so the page can be shared and reloaded.
 */
export function NextPageButton({ location, endCursor }: { location: URL; endCursor: string }) {
  return (
    <button
      type="button"
      data-testid="next-page"
      onClick={() => {
        const parameters = new URLSearchParams(location.search);
        parameters.set("after", endCursor);
        navigate(`${location.pathname}?${parameters}`);
      }}
    >
      Next page
    </button>
  );
}
