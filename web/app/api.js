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

export const SESSION_FIELDS = `token refreshToken expiresAt user { id handle displayName }`;

export async function gql(query, variables = {}) {
  const body = await post(query, variables, await accessToken());
  const error = body.errors?.[0];
  if (error?.extensions?.code === "UNAUTHENTICATED" && currentSession()) {
    // Revoked, or the clock was off: one refresh, then one retry.
    const token = await refreshNow();
    if (token) return unwrap(await post(query, variables, token));
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
    return await response.json();
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

// One refresh at a time, shared by every request waiting for it. A refused refresh ends the
// session: the person signs in again.
function refreshNow() {
  refreshing ??= (async () => {
    const session = currentSession();
    if (!session?.refreshToken) {
      clearSession();
      return null;
    }
    const body = await post(
      `mutation Refresh($refreshToken: String!) { refreshSession(refreshToken: $refreshToken) { ${SESSION_FIELDS} } }`,
      { refreshToken: session.refreshToken },
      null,
    );
    if (body.errors || !body.data) {
      clearSession();
      return null;
    }
    return saveSession(body.data.refreshSession).token;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
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
