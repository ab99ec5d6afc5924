// Reactions and comments under a pin's close-up: what the API's `reactToPin`, `addComment`,
// `deleteComment` and `Pin.comments` look like from a page.
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { gql } from "../api.js";
import { useAction, useQuery, Failure } from "../data.js";
import { Link } from "../router.js";

const REACTIONS = [
  ["LOVE", "❤️", "Love"],
  ["GOOD_IDEA", "💡", "Good idea"],
  ["THANKS", "🙏", "Thanks"],
  ["HAHA", "😂", "Haha"],
  ["WOW", "😮", "Wow"],
];
const MAX_COMMENT = 500;
const COMMENTS = `query Comments($id: ID!) { pin(id: $id) {
  reactionCounts { kind count } viewerReaction
  comments(first: 20) { totalCount edges { node { id text createdAt viewerCanDelete author { handle displayName } } } } } }`;

export function Conversation({ pinId, session }) {
  const { data, error, reload } = useQuery(COMMENTS, { id: pinId }, { cache: false });
  if (error) return html`<${Failure} error=${error} retry=${reload} />`;
  if (!data?.pin) return null;
  return html`<${Reactions} pin=${data.pin} pinId=${pinId} session=${session} changed=${reload} />
    <${Comments} pin=${data.pin} pinId=${pinId} session=${session} changed=${reload} />`;
}

function Reactions({ pin, pinId, session, changed }) {
  const [error, setError] = useState(null);
  const counts = Object.fromEntries(pin.reactionCounts.map((entry) => [entry.kind, entry.count]));
  const react = async (kind) => {
    setError(null);
    try {
      await gql(`mutation React($id: ID!, $kind: ReactionKind) { reactToPin(pinId: $id, kind: $kind) { id } }`, {
        id: pinId,
        kind: pin.viewerReaction === kind ? null : kind, // the same one again takes it back
      });
      changed();
    } catch (caught) {
      setError(caught);
    }
  };
  return html`<div class="row" role="group" aria-label="Reactions">
    ${REACTIONS.map(([kind, emoji, name]) => html`<button key=${kind} class="button reaction"
      aria-pressed=${pin.viewerReaction === kind} aria-label=${`${name}, ${counts[kind] || 0}`}
      disabled=${!session} onClick=${() => react(kind)}>
      <span aria-hidden="true">${emoji} ${counts[kind] || 0}</span></button>`)}
    ${error && html`<${Failure} error=${error} />`}
  </div>`;
}

function Comments({ pin, pinId, session, changed }) {
  const [text, setText] = useState("");
  const { busy, error, act } = useAction();
  const run = (query, variables) =>
    act(async () => {
      await gql(query, variables);
      changed();
    });
  const add = async (event) => {
    event.preventDefault();
    const sent = await run(`mutation Comment($id: ID!, $text: String!) { addComment(pinId: $id, text: $text) { id } }`, {
      id: pinId,
      text,
    });
    if (sent) setText("");
  };
  const comments = pin.comments.edges.map((edge) => edge.node);
  return html`<section aria-labelledby="comments-title">
    <h2 class="section-title" id="comments-title">Comments (${pin.comments.totalCount})</h2>
    ${session && html`<form class="form" onSubmit=${add}>
      <label>Add a comment
        <textarea rows="2" maxlength=${MAX_COMMENT} value=${text} onInput=${(event) => setText(event.target.value)}></textarea>
      </label>
      <button class="button primary" disabled=${busy || !text.trim()}>Post</button>
    </form>`}
    ${error && html`<${Failure} error=${error} />`}
    <ul class="comments" data-testid="comments">
      ${comments.map((comment) => html`<li key=${comment.id}>
        <${Link} href=${`/u/${comment.author.handle}`}><strong>${comment.author.displayName}</strong></${Link}>
        ${" "}<span class="comment-text">${comment.text}</span>
        <div class="muted"><time datetime=${comment.createdAt}>${new Date(comment.createdAt).toLocaleString()}</time>
          ${comment.viewerCanDelete && html` · <button class="link-button" disabled=${busy}
            onClick=${() => run(`mutation Uncomment($id: ID!) { deleteComment(id: $id) }`, { id: comment.id })}>Delete</button>`}</div>
      </li>`)}
    </ul>
  </section>`;
}
