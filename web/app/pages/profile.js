// A profile: who they are, their boards (with covers), and the pins they created.
import { html } from "htm/preact";
import { gql } from "../api.js";
import { useQuery, Failure, Loading } from "../data.js";
import { FollowButton } from "../follow.js";
import { CARD, PagedGrid, connectionPage, usePages } from "../grid.js";
import { Link } from "../router.js";

export function ProfilePage({ params, session }) {
  const { data, error, loading, reload } = useQuery(
    `query Profile($handle: String!) { user(handle: $handle) {
      id handle displayName followerCount followingCount viewerIsFollowing
      boards(first: 50) { totalCount edges { node {
        id name privacy pinCount
        pins(first: 3) { edges { node { id image { dominantColor thumb: url(size: THUMB) } } } } } } } } }`,
    { handle: params.handle },
  );
  if (loading && !data) return html`<${Loading} what="Loading the profile…" />`;
  if (error) return html`<${Failure} error=${error} retry=${reload} />`;
  const user = data.user;
  if (!user) {
    return html`<div class="centered"><h1 class="page-title" tabindex="-1">No user @${params.handle}</h1></div>`;
  }
  const mine = session?.user?.id === user.id;
  const boards = user.boards.edges.map((edge) => edge.node);
  return html`<header class="centered" style="text-align: center">
      <h1 class="page-title" tabindex="-1">${user.displayName}</h1>
      <p class="muted">@${user.handle} · ${user.followingCount} following</p>
      ${!mine && html`<${FollowButton} kind="user" id=${user.id} name=${user.displayName} session=${session}
        following=${user.viewerIsFollowing} followers=${user.followerCount} />`}
      ${mine && html`<p class="muted">${user.followerCount} followers</p>`}
    </header>
    <h2 class="section-title">Boards</h2>
    ${boards.length === 0 && html`<p class="muted">No boards yet.</p>`}
    <ul class="boards" style="list-style: none; padding: 0">
      ${boards.map((board) => html`<li key=${board.id}><${BoardCard} board=${board} /></li>`)}
    </ul>
    <h2 class="section-title">Created pins</h2>
    <${CreatedPins} handle=${user.handle} />`;
}

function BoardCard({ board }) {
  const covers = board.pins.edges.map((edge) => edge.node.image).filter(Boolean);
  return html`<${Link} class="board-card" href=${`/board/${board.id}`}>
    <div class="board-cover" aria-hidden="true">
      ${[0, 1, 2].map((i) => {
        const image = covers[i];
        const style = image ? `background-color: ${image.dominantColor}; background-image: url("${image.thumb}")` : "";
        return html`<div key=${i} style=${style}></div>`;
      })}
    </div>
    <h3>${board.name}${board.privacy === "SECRET" ? " 🔒" : ""}</h3>
    <span class="muted">${board.pinCount} ${board.pinCount === 1 ? "pin" : "pins"}</span>
  </${Link}>`;
}

function CreatedPins({ handle }) {
  const paged = usePages(`created:${handle}`, async (after) => {
    const data = await gql(
      `query CreatedPins($handle: String!, $after: String) { user(handle: $handle) {
        pins(first: 25, after: $after) { edges { node { ${CARD} } } pageInfo { hasNextPage endCursor } } } }`,
      { handle, after },
    );
    return connectionPage(data.user.pins);
  });
  return html`<${PagedGrid} paged=${paged} label="Created pins" empty="No pins created yet." />`;
}
