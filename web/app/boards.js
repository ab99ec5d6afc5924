// The boards you may save to: your own, then those shared with you (as a collaborator).
import { html } from "htm/preact";

export const SAVE_TARGETS = `query SaveTargets { me {
  boards(first: 100) { edges { node { id name } } }
  sharedBoards(first: 100) { edges { node { id name owner { displayName } } } } } }`;

export function saveTargets(data) {
  const own = data?.me?.boards.edges.map((edge) => edge.node) || [];
  const shared = data?.me?.sharedBoards.edges.map((edge) => edge.node) || [];
  return { own, shared, all: [...own, ...shared] };
}

export function BoardOptions({ targets }) {
  return html`${targets.own.map((board) => html`<option value=${board.id} key=${board.id}>${board.name}</option>`)}
    ${targets.shared.length > 0 && html`<optgroup label="Shared with you">
      ${targets.shared.map((board) => html`<option value=${board.id} key=${board.id}>${board.name} (${board.owner.displayName})</option>`)}
    </optgroup>`}
    <option value="new">New board…</option>`;
}
