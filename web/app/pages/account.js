// Signing up and in with a handle and a password. The answer is the same JWT the CLI issues,
// with a refresh token; both are kept in localStorage (see session.js).
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { gql, SESSION_FIELDS } from "../api.js";
import { forgetAll } from "../cache.js";
import { Failure, useAction } from "../data.js";
import { Link, navigate } from "../router.js";
import { saveSession } from "../session.js";

const DEVELOPMENT = document.documentElement.dataset.env === "dev";

function useAccountForm(mutation, fields) {
  const [values, setValues] = useState(Object.fromEntries(fields.map((name) => [name, ""])));
  const { busy, error, act } = useAction();
  const run = (query, variables) =>
    act(async () => {
      const data = await gql(query, variables);
      forgetAll();
      saveSession(Object.values(data)[0]);
      navigate(nextPage(), { replace: true });
    });
  const submit = (event) => {
    event.preventDefault();
    // An empty optional field means "not given".
    run(mutation, Object.fromEntries(Object.entries(values).map(([name, value]) => [name, value === "" ? null : value])));
  };
  const input = (name) => (event) => setValues({ ...values, [name]: event.target.value });
  return { values, error, busy, submit, input, run };
}

// Only a page of this site: `?next=https://elsewhere` (or `//elsewhere`, `/\\elsewhere`)
// must not send anyone away.
function nextPage() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  try {
    const url = new URL(next, location.origin);
    return url.origin === location.origin ? url.pathname + url.search : "/";
  } catch {
    return "/";
  }
}

export function SignInPage() {
  const form = useAccountForm(
    `mutation SignIn($handle: String!, $password: String!) { signIn(handle: $handle, password: $password) { ${SESSION_FIELDS} } }`,
    ["handle", "password"],
  );
  const demo = () => form.run(`mutation Demo { signInAsDemo { ${SESSION_FIELDS} } }`, {});
  return html`<div class="centered">
    <h1 class="page-title" tabindex="-1">Sign in</h1>
    <form class="form" onSubmit=${form.submit}>
      <label>Handle <input name="handle" autocomplete="username" required value=${form.values.handle} onInput=${form.input("handle")} /></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required value=${form.values.password} onInput=${form.input("password")} /></label>
      <button class="button primary" disabled=${form.busy}>${form.busy ? "Signing in…" : "Sign in"}</button>
      ${form.error && html`<${Failure} error=${form.error} />`}
    </form>
    ${DEVELOPMENT && html`<p><button class="button" onClick=${demo} disabled=${form.busy}>Sign in as the demo user</button>
      <span class="hint muted"> (development only)</span></p>`}
    <p class="muted">New here? <${Link} href=${`/signup${location.search}`}>Sign up</${Link}></p>
  </div>`;
}

export function SignUpPage() {
  const form = useAccountForm(
    `mutation SignUp($handle: String!, $password: String!, $displayName: String) {
      signUp(handle: $handle, password: $password, displayName: $displayName) { ${SESSION_FIELDS} } }`,
    ["handle", "displayName", "password"],
  );
  return html`<div class="centered">
    <h1 class="page-title" tabindex="-1">Sign up</h1>
    <form class="form" onSubmit=${form.submit}>
      <label>Handle <input name="handle" autocomplete="username" required pattern="[a-z0-9_]{3,30}"
        aria-describedby="handle-hint" value=${form.values.handle} onInput=${form.input("handle")} />
        <span class="hint" id="handle-hint">3–30 lower-case letters, digits or _.</span></label>
      <label>Display name <input name="displayName" autocomplete="name" value=${form.values.displayName} onInput=${form.input("displayName")} /></label>
      <label>Password <input name="password" type="password" autocomplete="new-password" required minlength="8"
        aria-describedby="password-hint" value=${form.values.password} onInput=${form.input("password")} />
        <span class="hint" id="password-hint">At least 8 characters.</span></label>
      <button class="button primary" disabled=${form.busy}>${form.busy ? "Signing up…" : "Sign up"}</button>
      ${form.error && html`<${Failure} error=${form.error} />`}
    </form>
    <p class="muted">Have an account? <${Link} href=${`/signin${location.search}`}>Sign in</${Link}></p>
  </div>`;
}
