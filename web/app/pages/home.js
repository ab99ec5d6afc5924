// The home feed: your personalised feed when signed in, what is trending otherwise.
import { html } from "htm/preact";
import { gql } from "../api.js";
import { useQuery, Failure, Loading } from "../data.js";
import { CARD, PagedGrid, PinGrid, connectionPage, usePages } from "../grid.js";
import { Link } from "../router.js";

const PAGE = 25;

export function HomePage({ session }) {
  return session ? html`<${Feed} session=${session} />` : html`<${Trending} />`;
}

function Feed({ session }) {
  const paged = usePages(`home:${session.user?.id}`, async (after) => {
    const data = await gql(
      `query HomeFeed($first: Int!, $after: String) {
        homeFeed(first: $first, after: $after) {
          edges { node { ${CARD} } } pageInfo { hasNextPage endCursor } } }`,
      { first: PAGE, after },
    );
    return connectionPage(data.homeFeed);
  });
  return html`<h1 class="visually-hidden" tabindex="-1">Your home feed</h1>
    <${PagedGrid} paged=${paged} label="Your home feed"
      empty="Your feed is empty: follow people, boards or topics, or save a few pins." />`;
}

function Trending() {
  const { data, error, loading, reload } = useQuery(
    `query Trending { trendingPins(first: 100) { ${CARD} } }`,
    {},
  );
  return html`<div class="row" style="justify-content: space-between">
      <h1 class="page-title" tabindex="-1">Trending on pingraph</h1>
      <p class="muted"><${Link} href="/signup">Sign up</${Link}> or <${Link} href="/signin">sign in</${Link}> for a feed of your own.</p>
    </div>
    ${loading && html`<${Loading} what="Loading pins…" />`}
    ${error && html`<${Failure} error=${error} retry=${reload} />`}
    ${data && html`<${PinGrid} pins=${data.trendingPins} label="Trending pins" pages=${1} />`}`;
}
