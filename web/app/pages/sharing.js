// Shared boards on a board's page: the owner invites people by handle and removes
// collaborators; a collaborator can leave. Invites are answered on the notifications page.
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { gql } from "../api.js";
import { forgetAll } from "../cache.js";
import { useAction, useQuery, Failure } from "../data.js";
import { Link, navigate } from "../router.js";

export function Invites({ onAnswered }) {
  const { data, error, reload } = useQuery(
    `query Invites { me { boardInvites { id createdAt board { id name privacy } invitedBy { handle displayName } } } }`,
    {},
    { cache: false },
  );
  const [failure, setFailure] = useState(null);
  if (error) return html`<${Failure} error=${error} retry=${reload} />`;
  const invites = data?.me?.boardInvites || [];
  if (invites.length === 0) return null;
  const answer = async (invite, accept) => {
    setFailure(null);
    try {
      if (accept) {
        await gql(`mutation Accept($i: ID!) { acceptBoardInvite(inviteId: $i) { id } }`, { i: invite.id });
        forgetAll();
        navigate(`/board/${invite.board.id}`);
      } else {
        await gql(`mutation Decline($i: ID!) { declineBoardInvite(inviteId: $i) }`, { i: invite.id });
        reload();
        onAnswered?.(); // its notification leaves the list too
      }
    } catch (caught) {
      setFailure(caught);
    }
  };
  return html`<section aria-labelledby="invites-title">
    <h2 class="section-title" id="invites-title">Board invites</h2>
    <ul class="notifications" data-testid="invites">
      ${invites.map((invite) => html`<li key=${invite.id} class="notification unread">
        <div style="flex: 1"><strong>${invite.invitedBy.displayName}</strong> invited you to save to${" "}
          <em>${invite.board.name}</em>${invite.board.privacy === "SECRET" ? " 🔒" : ""}</div>
        <button class="button primary" onClick=${() => answer(invite, true)}
          aria-label=${`Accept the invite to ${invite.board.name}`}>Accept</button>
        <button class="button" onClick=${() => answer(invite, false)}
          aria-label=${`Decline the invite to ${invite.board.name}`}>Decline</button>
      </li>`)}
    </ul>
    ${failure && html`<${Failure} error=${failure} />`}
  </section>`;
}

const MEMBERS = `query Members($id: ID!) { board(id: $id) {
  collaborators(first: 50) { totalCount edges { node { id handle displayName } } } } }`;

export function Collaborators({ board, session }) {
  const { data, error, reload } = useQuery(MEMBERS, { id: board.id }, { cache: false });
  const { busy, error: failure, act: run } = useAction();
  const [status, setStatus] = useState(null);
  const [handle, setHandle] = useState("");
  if (error) return html`<${Failure} error=${error} retry=${reload} />`;
  if (!data?.board) return null;
  const members = data.board.collaborators.edges.map((edge) => edge.node);
  const owner = board.viewerRole === "OWNER";
  if (!board.viewerRole && members.length === 0) return null;

  const act = (work) => {
    setStatus(null);
    return run(async () => {
      await work();
      forgetAll();
      reload();
    });
  };
  const invite = (event) => {
    event.preventDefault();
    act(async () => {
      const found = await gql(`query Who($handle: String!) { user(handle: $handle) { id displayName } }`, {
        handle: handle.trim().replace(/^@/, ""),
      });
      if (!found.user) throw new Error(`No user @${handle.trim().replace(/^@/, "")}.`);
      await gql(`mutation Invite($b: ID!, $u: ID!) { inviteCollaborator(boardId: $b, userId: $u) { id } }`, {
        b: board.id,
        u: found.user.id,
      });
      setStatus(`Invited ${found.user.displayName}. They can accept on their notifications page.`);
      setHandle("");
    });
  };
  const remove = (member) =>
    act(() => gql(`mutation Remove($b: ID!, $u: ID!) { removeCollaborator(boardId: $b, userId: $u) { id } }`, { b: board.id, u: member.id }));
  const leave = () =>
    act(async () => {
      await gql(`mutation Leave($b: ID!) { leaveBoard(boardId: $b) }`, { b: board.id });
      navigate(session.user ? `/u/${session.user.handle}` : "/");
    });

  return html`<section class="centered" aria-labelledby="collaborators-title">
    <h2 class="section-title" id="collaborators-title">Collaborators (${data.board.collaborators.totalCount})</h2>
    ${members.length === 0 && html`<p class="muted">Only its owner saves here.</p>`}
    <ul class="board-list" data-testid="collaborators">
      ${members.map((member) => html`<li key=${member.id} class="row">
        <${Link} href=${`/u/${member.handle}`}>${member.displayName}</${Link}>
        ${owner && html`<button class="link-button" disabled=${busy} onClick=${() => remove(member)}
          aria-label=${`Remove ${member.displayName}`}>Remove</button>`}
      </li>`)}
    </ul>
    ${owner && html`<form class="form" onSubmit=${invite}>
      <label>Invite by handle <input value=${handle} onInput=${(event) => setHandle(event.target.value)} placeholder="@handle" /></label>
      <button class="button" disabled=${busy || !handle.trim()}>Invite</button>
    </form>`}
    ${board.viewerRole === "COLLABORATOR" && html`<p><button class="button" disabled=${busy} onClick=${leave}>Leave this board</button></p>`}
    <div aria-live="polite">${status && html`<p class="status">${status}</p>`}</div>
    ${failure && html`<${Failure} error=${failure} />`}
  </section>`;
}
