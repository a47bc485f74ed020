// Where the refresh token waits between page loads.
//
// A session the person asked to keep ("Keep me signed in") is shared by
// every tab of the browser, and its refresh token rotates on every use, so
// the tabs renew in turn under a Web Lock (see session.tsx). Each tab must
// then read the token the previous one wrote. localStorage does not promise
// that: Chromium gives each tab's renderer process its own copy of it and
// carries other tabs' writes over asynchronously, so a tab that took the
// lock just after another released it sometimes read the spent token, and
// the server, seeing a refresh token used twice, revoked the session (the
// two-tab browser test failed so in CI; two tabs taking a Web Lock 300 times
// each read a spent localStorage value 44 and 135 times in 600 in two
// runs). IndexedDB
// transactions all go through one store in the browser process: a read
// that starts after another tab's write transaction completed sees the
// write. Kept tokens therefore live in IndexedDB.
//
// A session that is not kept lives in sessionStorage, which belongs to one
// tab, so no other tab can race it.

const databaseName = "talentgraph";
const objectStoreName = "session";
/** The key of the kept token in the object store. */
const keptRefreshTokenKey = "refreshToken";
/** The key of this tab's own token in sessionStorage. */
const tabRefreshTokenKey = "talentgraph.refreshToken";
/**
 * A hint, in localStorage, that a kept session may exist. Start-up reads it
 * synchronously to decide whether to wait for IndexedDB before the first
 * page request; the token itself is never read from localStorage.
 */
const keptSessionHintKey = "talentgraph.keptSession";

export type RefreshTokenPlace = "kept" | "this-tab";

export interface StoredRefreshToken {
  token: string;
  place: RefreshTokenPlace;
}

/** Whether start-up has a refresh token to exchange, as far as can be known without waiting. */
export function mayHaveStoredRefreshToken(): boolean {
  return window.sessionStorage.getItem(tabRefreshTokenKey) !== null || window.localStorage.getItem(keptSessionHintKey) !== null;
}

function openDatabase(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = window.indexedDB.open(databaseName, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(objectStoreName);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error("IndexedDB could not be opened"));
  });
}

/** Runs one transaction on the session store and resolves once it has committed. */
async function inSessionStore<T>(
  mode: IDBTransactionMode,
  work: (store: IDBObjectStore) => IDBRequest<T>,
): Promise<T> {
  const database = await openDatabase();
  try {
    return await new Promise<T>((resolve, reject) => {
      const transaction = database.transaction(objectStoreName, mode);
      const request = work(transaction.objectStore(objectStoreName));
      // Resolving on the transaction's completion, not the request's
      // success, is what lets the next tab holding the lock see the write.
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error ?? new Error("IndexedDB transaction failed"));
      transaction.onabort = () => reject(transaction.error ?? new Error("IndexedDB transaction aborted"));
    });
  } finally {
    database.close();
  }
}

/**
 * The refresh token this tab would use now: its own first, then the kept
 * one. A browser that refuses IndexedDB (some private modes) has no kept
 * token, so the app starts signed out instead of waiting for ever.
 */
export async function readRefreshToken(): Promise<StoredRefreshToken | null> {
  const ownToken = window.sessionStorage.getItem(tabRefreshTokenKey);
  if (ownToken) return { token: ownToken, place: "this-tab" };
  const keptToken = await inSessionStore<unknown>("readonly", (store) => store.get(keptRefreshTokenKey)).catch(
    () => null,
  );
  return typeof keptToken === "string" && keptToken !== "" ? { token: keptToken, place: "kept" } : null;
}

/**
 * Stores a refresh token in its place and forgets any in the other place.
 * The kept token is overwritten in place, never removed and then written:
 * another tab reading in between would find none and sign itself out.
 */
export async function writeRefreshToken(token: string, place: RefreshTokenPlace): Promise<void> {
  if (place === "kept") {
    const kept = await inSessionStore("readwrite", (store) => store.put(token, keptRefreshTokenKey)).then(
      () => true,
      () => false,
    );
    if (kept) {
      window.localStorage.setItem(keptSessionHintKey, "yes");
      window.sessionStorage.removeItem(tabRefreshTokenKey);
    } else {
      // Without IndexedDB the session is kept for this tab only.
      window.sessionStorage.setItem(tabRefreshTokenKey, token);
    }
  } else {
    window.sessionStorage.setItem(tabRefreshTokenKey, token);
    await forgetKeptRefreshToken();
  }
}

async function forgetKeptRefreshToken(): Promise<void> {
  window.localStorage.removeItem(keptSessionHintKey);
  // Nothing can have been kept where IndexedDB is refused.
  await inSessionStore("readwrite", (store) => store.delete(keptRefreshTokenKey)).catch(() => undefined);
}

/** Forgets the refresh token everywhere this browser keeps one. */
export async function forgetRefreshToken(): Promise<void> {
  window.sessionStorage.removeItem(tabRefreshTokenKey);
  await forgetKeptRefreshToken();
}
