// Who is signed in.
//
// The access token lives only in memory: a script injected into the page
// could read storage, and a short-lived token in memory is what it would
// have to steal instead. The refresh token is kept so a reload does not sign
// the person out: in IndexedDB when they ticked "Keep me signed in" (it
// survives closing the browser and is shared by all tabs), otherwise in
// sessionStorage (this tab only); refreshTokenStore.ts says why not
// localStorage. The access token is renewed through `refreshSession` a
// little before it expires; the refresh token rotates on every renewal.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import type { ReactNode } from "react";
import { execute, type GraphQLErrorEntry } from "./graphql/client";
import { RefreshSession, SignIn, SignOut } from "./graphql/operations";
import {
  forgetRefreshToken,
  mayHaveStoredRefreshToken,
  readRefreshToken,
  writeRefreshToken,
  type RefreshTokenPlace,
} from "./refreshTokenStore";

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

/** Runs `renewal` while holding the browser-wide renewal lock, where the browser has Web Locks. */
function withRenewalLock<T>(renewal: () => Promise<T>): Promise<T> {
  if (!navigator.locks) return renewal();
  // The lock is held until the renewal's promise settles, and request()
  // resolves with what that promise resolved to; the DOM typings describe
  // the callback's return value unwrapped only for synchronous callbacks.
  return navigator.locks.request("talentgraph.refresh-session", renewal) as Promise<T>;
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<SessionState>(() =>
    mayHaveStoredRefreshToken() ? { status: "restoring" } : { status: "signed-out" },
  );
  const renewal = useRef<number | undefined>(undefined);
  /**
   * Counts sign-ins and sign-outs in this tab. A renewal that started
   * before one of them must not put its session back on screen when it
   * ends.
   */
  const sessionGeneration = useRef(0);

  const adopt = useCallback(async (tokens: Tokens, place: RefreshTokenPlace, generation: number) => {
    // The write has committed when this resolves, so a renewal holding the
    // lock releases it only once the next tab can read the new token.
    await writeRefreshToken(tokens.refreshToken, place);
    if (generation === sessionGeneration.current) {
      setSession({ status: "signed-in", ...signedInFrom(tokens) });
    }
  }, []);

  const renew = useCallback(
    (notice: string) => {
      const generation = sessionGeneration.current;
      // Tabs of one browser share a kept refresh token, and it rotates on
      // every use: renewals take turns under a Web Lock, and each reads the
      // token only once it holds the lock, so it uses the one the previous
      // tab stored instead of the spent one.
      return withRenewalLock(async () => {
        if (generation !== sessionGeneration.current) return;
        const stored = await readRefreshToken();
        if (!stored) {
          setSession({ status: "signed-out" });
          return;
        }
        const result = await execute(RefreshSession, { refreshToken: stored.token });
        const tokens = result.data?.refreshSession;
        if (tokens) {
          await adopt(tokens, stored.place, generation);
        } else if (generation === sessionGeneration.current) {
          await forgetRefreshToken();
          setSession({ status: "signed-out", notice });
        }
      });
    },
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
      sessionGeneration.current += 1;
      await adopt(tokens, keepSignedIn ? "kept" : "this-tab", sessionGeneration.current);
      return null;
    },
    [adopt],
  );

  const signOut = useCallback(async () => {
    // Off the screen at once, so the page the person lands on is requested
    // signed out, and only once.
    sessionGeneration.current += 1;
    setSession({ status: "signed-out" });
    // The token is read and forgotten under the lock, so a renewal in
    // another tab cannot rotate it between this read and the revocation.
    const stored = await withRenewalLock(async () => {
      const token = await readRefreshToken();
      await forgetRefreshToken();
      return token;
    });
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
