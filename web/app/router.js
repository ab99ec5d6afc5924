// Pages have real URLs: links push history entries, back/forward restore the page and its
// scroll position, and a reload asks the server for the same URL (it serves the app there).
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";

const listeners = new Set();
history.scrollRestoration = "manual";

export function navigate(url, { replace = false } = {}) {
  history.replaceState({ ...history.state, scrollY: window.scrollY }, "");
  if (replace) history.replaceState({ scrollY: 0 }, "", url);
  else history.pushState({ scrollY: 0 }, "", url);
  changed(0);
}

// A link to "#content" (the skip link) changes only the hash: the page stays as it is.
window.addEventListener("popstate", (event) => {
  if (pageOf(location) !== shown) changed(event.state?.scrollY ?? 0);
});

let shown = pageOf(location);

function pageOf(where) {
  return where.pathname + where.search;
}

function changed(scrollY) {
  shown = pageOf(location);
  for (const listener of listeners) listener(currentLocation());
  // After the new page rendered (from the client cache when it was seen recently).
  requestAnimationFrame(() => requestAnimationFrame(() => window.scrollTo(0, scrollY)));
}

function currentLocation() {
  // `page` (path and query) names the page; the hash does not.
  return { path: location.pathname, query: new URLSearchParams(location.search), page: pageOf(location) };
}

export function useLocation() {
  const [where, setWhere] = useState(currentLocation);
  useEffect(() => {
    listeners.add(setWhere);
    return () => listeners.delete(setWhere);
  }, []);
  return where;
}

// Keeps the scroll position in the history entry as the person scrolls, so back finds it.
let pending = false;
window.addEventListener("scroll", () => {
  if (pending) return;
  pending = true;
  setTimeout(() => {
    pending = false;
    history.replaceState({ ...history.state, scrollY: window.scrollY }, "");
  }, 200);
});

export function Link({ href, children, ...props }) {
  const onClick = (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${onClick} ...${props}>${children}</a>`;
}

// "/pin/:id" style patterns; the first match wins.
export function match(routes, path) {
  for (const [pattern, page] of routes) {
    const names = [];
    const regex = new RegExp(
      "^" + pattern.replace(/:(\w+)/g, (_, name) => (names.push(name), "([^/]+)")) + "/?$",
    );
    const found = path.match(regex);
    if (found) {
      try {
        const params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
        return { page, params };
      } catch {
        return null; // a malformed escape such as %E0: no page has that address
      }
    }
  }
  return null;
}
