// Talking to pingraph: GraphQL over fetch, image uploads to POST /media, and the session's
// refresh. Every failure becomes an ApiError with a message a person can read.
import { clearSession, currentSession, saveSession } from "./session.js";

export class ApiError extends Error {
  constructor(message, code = "INTERNAL") {
    super(message);
    this.code = code;
  }
}

// Refresh this long before the access token expires, so a request never races the expiry.
const REFRESH_MARGIN_MS = 60_000;
let refreshing = null;
let refusedToken = null; // the server said no to it: refresh even though it looks fresh

export const SESSION_FIELDS = `token refreshToken expiresAt user { id handle displayName }`;

export async function gql(query, variables = {}) {
  const { status, body } = await post(query, variables, await accessToken());
  // A 401 is about the token itself (expired early, the clock was off, or revoked): one
  // refresh, then one retry. A field's UNAUTHENTICATED (a wrong password) is not retried.
  if (status === 401 && currentSession()) {
    refusedToken = currentSession().token;
    const token = await refreshNow();
    if (token) return unwrap((await post(query, variables, token)).body);
  }
  return unwrap(body);
}

async function post(query, variables, token) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError("Cannot reach pingraph. Check your connection and try again.", "UNAVAILABLE");
  }
  try {
    return { status: response.status, body: await response.json() };
  } catch {
    throw new ApiError(`The server answered ${response.status} without a GraphQL body.`);
  }
}

function unwrap(body) {
  const error = body.errors?.[0];
  if (error) throw new ApiError(error.message, error.extensions?.code);
  return body.data;
}

export async function accessToken() {
  const session = currentSession();
  if (!session) return null;
  if (session.expiresAt - Date.now() > REFRESH_MARGIN_MS) return session.token;
  return refreshNow();
}

// One refresh at a time, shared by every request waiting for it, and across tabs: a refresh
// token works once, so two tabs refreshing with the same one would end the session. A
// refused refresh ends the session: the person signs in again.
function refreshNow() {
  refreshing ??= (navigator.locks ? navigator.locks.request("pingraph.refresh", refreshOnce) : refreshOnce())
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

async function refreshOnce() {
  const session = currentSession();
  if (!session?.refreshToken) {
    clearSession();
    return null;
  }
  // Another tab may have refreshed while this one waited for the lock.
  if (session.expiresAt - Date.now() > REFRESH_MARGIN_MS && session.token !== refusedToken) return session.token;
  const { body } = await post(
    `mutation Refresh($refreshToken: String!) { refreshSession(refreshToken: $refreshToken) { ${SESSION_FIELDS} } }`,
    { refreshToken: session.refreshToken },
    null,
  );
  const error = body.errors?.[0];
  if (error && error.extensions?.code !== "UNAUTHENTICATED") {
    // The server could not refresh now (down, busy): the session stays, the request fails.
    throw new ApiError(error.message, error.extensions?.code);
  }
  if (error) {
    if (currentSession()?.refreshToken === session.refreshToken) clearSession();
    return currentSession()?.token ?? null;
  }
  return saveSession(body.data.refreshSession).token;
}

// POST /media: the stored image's {imageKey, width, height, dominantColor, urls}.
export async function uploadImage(file) {
  const form = new FormData();
  form.append("file", file);
  const token = await accessToken();
  let response;
  try {
    response = await fetch("/media", {
      method: "POST",
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      body: form,
    });
  } catch {
    throw new ApiError("Cannot reach pingraph to upload the image.", "UNAVAILABLE");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(body.error?.message || `The upload failed (${response.status}).`, body.error?.code);
  }
  return body;
}
