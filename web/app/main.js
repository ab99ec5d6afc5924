// The app shell: header, routes, error boundary, and the live unread count.
import { render, Component } from "preact";
import { html } from "htm/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { useUnreadCount } from "./unread.js";
import { Link, match, navigate, useLocation } from "./router.js";
import { gql } from "./api.js";
import { clearSession, currentSession, onSessionChange, saveUser } from "./session.js";
import { forgetAll } from "./cache.js";
import { HomePage } from "./pages/home.js";
import { PinPage } from "./pages/pin.js";
import { BoardPage } from "./pages/board.js";
import { ProfilePage } from "./pages/profile.js";
import { SearchPage } from "./pages/search.js";
import { CreatePage } from "./pages/create.js";
import { NotificationsPage } from "./pages/notifications.js";
import { SignInPage, SignUpPage } from "./pages/account.js";

const HEADING_WAIT_MS = 5000;
const ROUTES = [
  ["/", HomePage],
  ["/pin/:id", PinPage],
  ["/board/:id", BoardPage],
  ["/u/:handle", ProfilePage],
  ["/search", SearchPage],
  ["/create", CreatePage],
  ["/notifications", NotificationsPage],
  ["/signin", SignInPage],
  ["/signup", SignUpPage],
];

export function useSession() {
  const [session, setSession] = useState(currentSession);
  useEffect(() => onSessionChange(setSession), []);
  useEffect(() => {
    // A token made elsewhere (`pingraph token issue`) comes without the user: ask who it is.
    if (session && !session.user) {
      gql(`query Me { me { id handle displayName } }`)
        .then((data) => data.me && saveUser(data.me))
        .catch(() => {});
    }
  }, [session?.token]);
  return session;
}

function Header({ session, where }) {
  const count = useUnreadCount(session);
  const [query, setQuery] = useState(where.path === "/search" ? where.query.get("q") || "" : "");
  useEffect(() => setQuery(where.path === "/search" ? where.query.get("q") || "" : ""), [where.page]);
  const current = (path) => (where.path === path ? "page" : undefined);
  const search = (event) => {
    event.preventDefault();
    if (query.trim()) navigate(`/search?q=${encodeURIComponent(query.trim())}`);
  };
  const signOut = () => {
    clearSession();
    forgetAll();
    navigate("/");
  };
  return html`<header class="top">
    <a class="skip-link" href="#content">Skip to content</a>
    <${Link} class="logo" href="/"><img src="/web/icon.svg" alt="" />pingraph</${Link}>
    <${Link} class="nav-link" href="/" aria-current=${current("/")}>Home</${Link}>
    <form class="search" role="search" onSubmit=${search}>
      <input type="search" aria-label="Search pins" placeholder="Search pins" value=${query}
        onInput=${(event) => setQuery(event.target.value)} />
    </form>
    <nav aria-label="Account">
      ${session
        ? html`
          <${Link} class="nav-link" href="/create" aria-current=${current("/create")}>Create</${Link}>
          <${Link} class="nav-link" href="/notifications" aria-current=${current("/notifications")}
            aria-label=${count ? `Notifications, ${count} unread` : "Notifications"}>
            <span class="label" aria-hidden="true">Notifications</span>
            ${count > 0 && html`<span class="badge" data-testid="unread-count" aria-hidden="true">${count}</span>`}
          </${Link}>
          ${session.user && html`<${Link} class="nav-link" href=${`/u/${session.user.handle}`}>${session.user.displayName}</${Link}>`}
          <button class="nav-link" onClick=${signOut}>Sign out</button>`
        : html`
          <${Link} class="nav-link" href="/signin" aria-current=${current("/signin")}>Sign in</${Link}>
          <${Link} class="button primary" href="/signup">Sign up</${Link}>`}
    </nav>
  </header>`;
}

class ErrorBoundary extends Component {
  state = { error: null };
  static getDerivedStateFromError(error) {
    return { error };
  }
  componentDidCatch(error) {
    console.warn("pingraph: a page failed to render", error);
  }
  render() {
    if (!this.state.error) return this.props.children;
    return html`<div class="centered error" role="alert">
      <h1>Something went wrong on this page</h1>
      <p>${String(this.state.error.message || this.state.error)}</p>
      <button class="button" onClick=${() => this.setState({ error: null })}>Try again</button>
      <a class="button" href="/">Go home</a>
    </div>`;
  }
}

function NotFound() {
  return html`<div class="centered"><h1 class="page-title" tabindex="-1">Page not found</h1>
    <p><${Link} href="/">Back to the home feed</${Link}></p></div>`;
}

function App() {
  const where = useLocation();
  const session = useSession();
  const main = useRef(null);
  const found = match(ROUTES, where.path);
  const Page = found ? found.page : NotFound;
  // Screen readers hear the new page: on navigation focus moves to main, then to the page's
  // heading as soon as it is there (after its data loaded), unless the person moved on.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return undefined;
    }
    const target = main.current;
    target.focus({ preventScroll: true });
    const toHeading = () => {
      const heading = target.querySelector("h1");
      if (!heading || document.activeElement !== target) return false;
      heading.focus({ preventScroll: true });
      return true;
    };
    if (toHeading()) return undefined;
    const observer = new MutationObserver(() => toHeading() && observer.disconnect());
    observer.observe(target, { childList: true, subtree: true });
    const stop = setTimeout(() => observer.disconnect(), HEADING_WAIT_MS);
    return () => {
      observer.disconnect();
      clearTimeout(stop);
    };
  }, [where.page]);
  return html`
    <${Header} session=${session} where=${where} />
    <div id="announcer" class="visually-hidden" aria-live="polite"></div>
    <main id="content" ref=${main} tabindex="-1">
      <${ErrorBoundary} key=${where.page}>
        <${Page} key=${where.page} params=${found?.params || {}} query=${where.query} session=${session} />
      </${ErrorBoundary}>
    </main>`;
}

const root = document.getElementById("app");
root.textContent = ""; // the "Loading" line shown until the modules arrive
render(html`<${App} />`, root);
