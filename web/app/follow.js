// A follow button for a user or a board: shows the state, flips it, and says when it failed.
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { gql } from "./api.js";
import { forgetAll } from "./cache.js";
import { useAction } from "./data.js";

const MUTATIONS = {
  user: ["followUser(userId: $id)", "unfollowUser(userId: $id)"],
  board: ["followBoard(boardId: $id)", "unfollowBoard(boardId: $id)"],
};

export function FollowButton({ kind, id, following, followers, name, session }) {
  const [state, setState] = useState({ following, followers });
  const { busy, error, act } = useAction();
  if (!session) return null;
  const flip = () =>
    act(async () => {
      const [follow, unfollow] = MUTATIONS[kind];
      const data = await gql(
        `mutation Follow($id: ID!) { result: ${state.following ? unfollow : follow} { viewerIsFollowing followerCount } }`,
        { id },
      );
      forgetAll();
      setState({ following: data.result.viewerIsFollowing, followers: data.result.followerCount });
    });
  return html`<span class="row">
    <button class=${state.following ? "button" : "button primary"} aria-pressed=${state.following}
      aria-label=${`Follow ${name}`} disabled=${busy} onClick=${flip}>
      ${state.following ? "Following" : "Follow"}</button>
    <span class="muted">${state.followers} ${state.followers === 1 ? "follower" : "followers"}</span>
    ${error && html`<span class="error" role="alert">${error.message}</span>`}
  </span>`;
}
