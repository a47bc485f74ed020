// Who is signed in.
//
// The access token lives only in memory: a script injected into the page
// could read storage, and a short-lived token in memory is what it would
// have to steal instead. The refresh token is kept so a reload does not sign
// the person out: in localStorage when they ticked "Keep me signed in" (it
// survives closing the browser), otherwise in sessionStorage (this tab
// only). The access token is renewed through `refreshSession` a little
// before it expires; the refresh token rotates on every renewal.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import type { ReactNode } from "react";
import { execute, type GraphQLErrorEntry } from "./graphql/client";
import { RefreshSession, SignIn, SignOut } from "./graphql/operations";

const refreshTokenKey = "talentgraph.refreshToken";
/** Renew this long before the access token expires. */
const renewBeforeExpiryMilliseconds = 30_000;

export type Role = "JOBSEEKER" | "EMPLOYER" | "ADMIN";

export interface SignedIn {
  accessToken: string;
  accessTokenExpiresAt: string;
  /**
   * When to renew, on this browser's clock: the token's lifetime (`exp -
   * iat`, both the server's) counted from when it arrived, less a margin.
   * Counting from arrival keeps a browser whose clock is off from renewing
   * too late or in a loop.
   */
  renewAt: number;
  userId: string;
  roles: Role[];
  /** Organizations the user recruits for (the token's `orgs` claim). */
  organizationIds: string[];
}

export type SessionState =
  | { status: "restoring" }
  | { status: "signed-out"; notice?: string }
  | ({ status: "signed-in" } & SignedIn);

interface SessionContextValue {
  session: SessionState;
  signIn(email: string, password: string, keepSignedIn: boolean): Promise<GraphQLErrorEntry | null>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionContextValue | null>(null);

interface Tokens {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
}

/** Reads the claims the app needs from the token; the subgraphs verify it. */
function signedInFrom(tokens: Tokens): SignedIn {
  const payload = tokens.accessToken.split(".")[1] ?? "";
  const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
  const claims = JSON.parse(atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), "="))) as {
    sub: string;
    iat: number;
    exp: number;
    roles?: Role[];
    orgs?: string[];
  };
  const lifetimeMilliseconds = (claims.exp - claims.iat) * 1000;
  return {
    accessToken: tokens.accessToken,
    accessTokenExpiresAt: tokens.accessTokenExpiresAt,
    renewAt: Date.now() + Math.max(lifetimeMilliseconds - renewBeforeExpiryMilliseconds, lifetimeMilliseconds / 2),
    userId: claims.sub,
    roles: claims.roles ?? [],
    organizationIds: claims.orgs ?? [],
  };
}

/** The storage that holds the refresh token, if any does. */
function storedRefreshToken(): { token: string; storage: Storage } | null {
  for (const storage of [window.localStorage, window.sessionStorage]) {
    const token = storage.getItem(refreshTokenKey);
    if (token) return { token, storage };
  }
  return null;
}

function forgetRefreshToken(): void {
  window.localStorage.removeItem(refreshTokenKey);
  window.sessionStorage.removeItem(refreshTokenKey);
}

/** Runs `renewal` while holding the browser-wide renewal lock, where the browser has Web Locks. */
function withRenewalLock(renewal: () => Promise<void>): Promise<void> {
  if (!navigator.locks) return renewal();
  // The lock is held until the renewal's promise settles.
  return navigator.locks.request("talentgraph.refresh-session", renewal).then(() => undefined);
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<SessionState>(() =>
    storedRefreshToken() ? { status: "restoring" } : { status: "signed-out" },
  );
  const renewal = useRef<number | undefined>(undefined);

  const adopt = useCallback((tokens: Tokens, storage: Storage) => {
    // Overwrite in place (never remove, then write): another tab reading in
    // between would find no token and sign itself out.
    storage.setItem(refreshTokenKey, tokens.refreshToken);
    const other = storage === window.localStorage ? window.sessionStorage : window.localStorage;
    other.removeItem(refreshTokenKey);
    setSession({ status: "signed-in", ...signedInFrom(tokens) });
  }, []);

  const renew = useCallback(
    (notice: string) =>
      // Tabs of one browser share a kept refresh token, and it rotates on
      // every use: renewals take turns under a Web Lock, and each reads the
      // token only once it holds the lock, so it uses the one the previous
      // tab stored instead of the spent one.
      withRenewalLock(async () => {
        const stored = storedRefreshToken();
        if (!stored) {
          setSession({ status: "signed-out" });
          return;
        }
        const result = await execute(RefreshSession, { refreshToken: stored.token });
        const tokens = result.data?.refreshSession;
        if (tokens) {
          adopt(tokens, stored.storage);
        } else {
          forgetRefreshToken();
          setSession({ status: "signed-out", notice });
        }
      }),
    [adopt],
  );

  // A stored refresh token is turned into a session once, at start-up.
  useEffect(() => {
    if (session.status === "restoring") {
      void renew("Your session ended. Please sign in again.");
    }
    // Only the first render restores.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // Renew before the access token expires.
  useEffect(() => {
    window.clearTimeout(renewal.current);
    if (session.status !== "signed-in") return;
    const delay = Math.max(session.renewAt - Date.now(), 1_000);
    renewal.current = window.setTimeout(() => {
      void renew("Your session expired. Please sign in again.");
    }, delay);
    return () => window.clearTimeout(renewal.current);
  }, [session, renew]);

  const signIn = useCallback(
    async (email: string, password: string, keepSignedIn: boolean) => {
      const result = await execute(SignIn, { input: { email, password } });
      const tokens = result.data?.signIn;
      if (!tokens) {
        return result.errors[0] ?? { message: "no session", extensions: { code: "UNAUTHENTICATED" } };
      }
      adopt(tokens, keepSignedIn ? window.localStorage : window.sessionStorage);
      return null;
    },
    [adopt],
  );

  const signOut = useCallback(async () => {
    const stored = storedRefreshToken();
    forgetRefreshToken();
    setSession({ status: "signed-out" });
    if (stored) {
      // The server revokes the session; the app has already forgotten it.
      await execute(SignOut, { refreshToken: stored.token });
    }
  }, []);

  const value = useMemo(() => ({ session, signIn, signOut }), [session, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside SessionProvider");
  return value;
}

/** The access token to send, or null when signed out. */
export function accessTokenOf(session: SessionState): string | null {
  return session.status === "signed-in" ? session.accessToken : null;
}
