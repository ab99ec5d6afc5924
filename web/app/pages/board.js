// A board: its name, owner and pins (newest save first, paged as you scroll), and a follow button.
import { html } from "htm/preact";
import { gql } from "../api.js";
import { useQuery, Failure, Loading } from "../data.js";
import { FollowButton } from "../follow.js";
import { CARD, PagedGrid, connectionPage, usePages } from "../grid.js";
import { Link } from "../router.js";
import { Collaborators } from "./sharing.js";

export function BoardPage({ params, session }) {
  const { data, error, loading, reload } = useQuery(
    `query Board($id: ID!) { board(id: $id) {
      id name description privacy pinCount followerCount viewerIsFollowing viewerRole
      owner { id handle displayName } topics { name } } }`,
    { id: params.id },
  );
  if (loading && !data) return html`<${Loading} what="Loading the board…" />`;
  if (error) return html`<${Failure} error=${error} retry=${reload} />`;
  const board = data.board;
  if (!board) {
    return html`<div class="centered"><h1 class="page-title" tabindex="-1">Board not found</h1>
      <p class="muted">It was deleted, or it is secret.</p></div>`;
  }
  const mine = board.viewerRole !== null && board.viewerRole !== undefined;
  return html`<header class="centered" style="text-align: center">
      <h1 class="page-title" tabindex="-1">${board.name}${board.privacy === "SECRET" ? " 🔒" : ""}</h1>
      ${board.description && html`<p>${board.description}</p>`}
      <p class="muted">by <${Link} href=${`/u/${board.owner.handle}`}>${board.owner.displayName}</${Link}>${" · "}${board.pinCount} ${board.pinCount === 1 ? "pin" : "pins"}</p>
      ${!mine && html`<${FollowButton} kind="board" id=${board.id} name=${board.name} session=${session}
        following=${board.viewerIsFollowing} followers=${board.followerCount} />`}
    </header>
    ${session && html`<${Collaborators} board=${board} session=${session} />`}
    <${BoardPins} id=${board.id} name=${board.name} />`;
}

function BoardPins({ id, name }) {
  const paged = usePages(`board:${id}`, async (after) => {
    const data = await gql(
      `query BoardPins($id: ID!, $after: String) { board(id: $id) {
        pins(first: 25, after: $after) { edges { node { ${CARD} } } pageInfo { hasNextPage endCursor } } } }`,
      { id, after },
    );
    return connectionPage(data.board.pins);
  });
  return html`<${PagedGrid} paged=${paged} label=${`Pins on ${name}`} empty="No pins on this board yet." />`;
}
