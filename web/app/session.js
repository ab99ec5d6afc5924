// The signed-in session, kept in localStorage so every tab shares it:
// {token, refreshToken, expiresAt (epoch ms), user: {id, handle, displayName}}.
const KEY = "pingraph.session";
const listeners = new Set();

export function currentSession() {
  try {
    return JSON.parse(localStorage.getItem(KEY)) || null;
  } catch {
    return null;
  }
}

export function saveSession(payload) {
  const previous = currentSession();
  const session = {
    token: payload.token,
    refreshToken: payload.refreshToken,
    expiresAt: Date.parse(payload.expiresAt),
    user: payload.user || previous?.user || null,
  };
  localStorage.setItem(KEY, JSON.stringify(session));
  notify();
  return session;
}

export function saveUser(user) {
  const session = currentSession();
  if (!session) return;
  localStorage.setItem(KEY, JSON.stringify({ ...session, user }));
  notify();
}

export function clearSession() {
  localStorage.removeItem(KEY);
  notify();
}

export function onSessionChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify() {
  for (const listener of listeners) listener(currentSession());
}

// Another tab signed in or out.
window.addEventListener("storage", (event) => {
  if (event.key === KEY) notify();
});
