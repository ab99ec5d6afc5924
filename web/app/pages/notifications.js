// Your notifications, newest first; opening one marks it read, and so can "Mark all as read".
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { gql } from "../api.js";
import { Failure, SignInFirst } from "../data.js";
import { usePages, MoreOnScroll } from "../grid.js";
import { refreshUnread } from "../unread.js";
import { Link, navigate } from "../router.js";
import { Invites } from "./sharing.js";

const SAYS = {
  PIN_SAVED: (n) => ["saved your pin", n.pin?.title],
  USER_FOLLOWED: () => ["started following you", null],
  BOARD_FOLLOWED: (n) => ["followed your board", n.board?.name],
  NEW_PIN_IN_TOPIC: (n) => [`pinned in ${n.topic?.name || "a topic you follow"}`, n.pin?.title],
  BOARD_INVITE: (n) => ["invited you to a board", n.board?.name],
  PIN_COMMENTED: (n) => ["commented on your pin", n.pin?.title],
  PIN_REACTED: (n) => ["reacted to your pin", n.pin?.title],
};

export function NotificationsPage({ session }) {
  if (!session) return html`<${SignInFirst} to="see your notifications" />`;
  return html`<${Inbox} />`;
}

// Reloaded (a new key) after marking read, so every item shows its new state.
function Inbox() {
  const [version, setVersion] = useState(0);
  return html`<${InboxPages} key=${version} reload=${() => setVersion(version + 1)} />`;
}

function InboxPages({ reload }) {
  const [error, setError] = useState(null);
  const paged = usePages("notifications", async (after) => {
    const data = await gql(
      `query Inbox($after: String) { me { notifications(first: 25, after: $after) {
        edges { node { id kind createdAt read actorCount actors(first: 3) { handle displayName }
          pin { id title image { dominantColor thumb: url(size: THUMB) } } board { id name } topic { name } } }
        pageInfo { hasNextPage endCursor } } } }`,
      { after },
    );
    const connection = data.me.notifications;
    return {
      pins: connection.edges.map((edge) => edge.node),
      endCursor: connection.pageInfo.endCursor,
      hasNextPage: connection.pageInfo.hasNextPage,
    };
  }, { cache: false });
  const markRead = async (ids) => {
    setError(null);
    try {
      await gql(`mutation Read($ids: [ID!], $all: Boolean) { markNotificationsRead(ids: $ids, all: $all) }`, ids ? { ids } : { all: true });
      await refreshUnread();
      reload();
    } catch (caught) {
      setError(caught);
    }
  };
  const open = async (notification, href) => {
    if (!notification.read) await markRead([notification.id]);
    navigate(href);
  };
  const items = paged.pins;
  return html`<div class="centered" style="max-width: 40rem">
    <div class="row" style="justify-content: space-between">
      <h1 class="page-title" tabindex="-1">Notifications</h1>
      <button class="button" onClick=${() => markRead(null)} disabled=${!items.some((n) => !n.read)}>Mark all as read</button>
    </div>
    ${error && html`<${Failure} error=${error} />`}
    <${Invites} onAnswered=${reload} />
    ${paged.pages > 0 && items.length === 0 && html`<p class="empty">Nothing yet. When someone saves your pins or follows you, it shows here.</p>`}
    <ul class="notifications" data-testid="notifications">
      ${items.map((n) => html`<${Item} key=${n.id} notification=${n} open=${open} />`)}
    </ul>
    <${MoreOnScroll} paged=${paged} />
  </div>`;
}

function Item({ notification: n, open }) {
  const [verb, object] = (SAYS[n.kind] || (() => ["did something", null]))(n);
  const who = n.actors.map((actor) => actor.displayName).join(", ") || "Someone";
  const others = n.actorCount - n.actors.length;
  const href = n.pin ? `/pin/${n.pin.id}` : n.board ? `/board/${n.board.id}` : n.actors[0] ? `/u/${n.actors[0].handle}` : "/";
  const thumb = n.pin?.image;
  return html`<li class=${`notification${n.read ? "" : " unread"}`}>
    ${!n.read && html`<span class="dot" aria-label="unread"></span>`}
    <div class="thumb" aria-hidden="true" style=${thumb ? `background-color: ${thumb.dominantColor}; background-image: url("${thumb.thumb}")` : ""}></div>
    <div>
      <${Link} href=${href} onClick=${(event) => { event.preventDefault(); open(n, href); }}>
        <strong>${who}</strong>${others > 0 ? ` and ${others} more` : ""} ${verb}${object ? html` <em>${object}</em>` : ""}
      </${Link}>
      <div class="muted"><time datetime=${n.createdAt}>${new Date(n.createdAt).toLocaleString()}</time></div>
    </div>
  </li>`;
}
