// Loading one answer for a page, with its loading and error states, from the client cache
// when it was seen in the last few minutes.
import { html } from "htm/preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { gql } from "./api.js";
import { recall, remember } from "./cache.js";

export function useQuery(query, variables, { cache = true } = {}) {
  const key = query + JSON.stringify(variables);
  const [state, setState] = useState(() => {
    const known = cache ? recall(key) : undefined;
    return known ? { data: known, error: null, loading: false } : { data: null, error: null, loading: true };
  });
  const load = useCallback(async () => {
    setState((previous) => ({ ...previous, loading: true, error: null }));
    try {
      const data = await gql(query, variables);
      if (cache) remember(key, data);
      setState({ data, error: null, loading: false });
    } catch (error) {
      setState({ data: null, error, loading: false });
    }
  }, [key]);
  useEffect(() => {
    if (state.loading) load();
  }, [key]);
  return { ...state, reload: load };
}

export function Failure({ error, retry }) {
  return html`<div class="error" role="alert">
    <p>${error.message}</p>
    ${retry && html`<button class="button" onClick=${retry}>Try again</button>`}
  </div>`;
}

export function Loading({ what = "Loading…" }) {
  useEffect(() => announce(what), [what]);
  return html`<p class="muted">${what}</p>`;
}

// Screen readers read out changes to a live region that was already on the page, not one
// that arrives with its text: the shell keeps one (#announcer) for messages like "Loading".
export function announce(text) {
  const region = document.getElementById("announcer");
  if (region) region.textContent = text;
}

// Signing in is needed for this page: say so, with a way there and back.
export function SignInFirst({ to }) {
  const next = encodeURIComponent(location.pathname + location.search);
  return html`<div class="centered">
    <h1 class="page-title" tabindex="-1">Sign in to ${to}</h1>
    <p class="row"><a class="button primary" href=${`/signin?next=${next}`}>Sign in</a>
      <a class="button" href=${`/signup?next=${next}`}>Sign up</a></p>
  </div>`;
}

// A write started from a button or a form: `busy` while it runs (to disable the controls),
// and the error it ended with, to show. `act(work)` answers whether the work succeeded.
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const act = async (work) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      return true;
    } catch (caught) {
      setError(caught);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, act };
}
