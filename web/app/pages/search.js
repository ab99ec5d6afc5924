// Search: by words (every word must match, the last as a prefix), or by an image, whole or
// a region of it (the close-up's region search lands here with ?image=KEY&crop=x,y,w,h).
import { html } from "htm/preact";
import { gql, uploadImage } from "../api.js";
import { useAction, useQuery, Failure, Loading } from "../data.js";
import { CARD, PagedGrid, PinGrid, connectionPage, usePages } from "../grid.js";
import { navigate } from "../router.js";

export function SearchPage({ query, session }) {
  const words = query.get("q")?.trim() || "";
  const imageKey = query.get("image");
  return html`<h1 class="page-title" tabindex="-1">${words ? `Pins for “${words}”` : "Search"}</h1>
    <${ImageUpload} session=${session} />
    ${imageKey && html`<${ImageResults} imageKey=${imageKey} crop=${parseCrop(query.get("crop"))} session=${session} />`}
    ${words && html`<${TextResults} words=${words} />`}
    ${!words && !imageKey && html`<p class="muted">Type words in the search box above, or search by a picture.</p>`}`;
}

function parseCrop(text) {
  const numbers = (text || "").split(",").map(Number);
  if (numbers.length !== 4 || !numbers.every(Number.isInteger)) return null;
  const [x, y, width, height] = numbers;
  return { x, y, width, height };
}

function TextResults({ words }) {
  const paged = usePages(`search:${words}`, async (after) => {
    const data = await gql(
      `query Search($query: String!, $after: String) { searchPins(query: $query, first: 25, after: $after) {
        edges { node { ${CARD} } } pageInfo { hasNextPage endCursor } } }`,
      { query: words, after },
    );
    return connectionPage(data.searchPins);
  });
  return html`<${PagedGrid} paged=${paged} label="Search results"
    empty="No pins match every word. Try fewer or shorter words." />`;
}

function ImageUpload({ session }) {
  const { busy, error, act } = useAction();
  if (!session) return html`<p class="muted">Sign in to search by a picture.</p>`;
  const chosen = async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    await act(async () => {
      const stored = await uploadImage(file);
      navigate(`/search?image=${encodeURIComponent(stored.imageKey)}`);
    });
    event.target.value = "";
  };
  return html`<div class="form" style="margin-bottom: 1rem">
    <label>Search by image
      <input type="file" accept="image/*" onChange=${chosen} disabled=${busy} />
      <span class="hint">${busy ? "Uploading…" : "JPEG, PNG, WebP or GIF; pins that look like it come back."}</span>
    </label>
    ${error && html`<${Failure} error=${error} />`}
  </div>`;
}

function ImageResults({ imageKey, crop, session }) {
  const { data, error, loading, reload } = useQuery(
    `query ByImage($key: ID!, $crop: CropInput) { searchByImage(imageKey: $key, crop: $crop, first: 50) {
      distance pin { ${CARD} } } }`,
    { key: imageKey, crop },
  );
  if (!session) return null;
  return html`<section aria-label="Pins that look like your picture">
    <figure class="query-image">
      <img src=${`/media/${encodeURIComponent(imageKey)}/thumb`} alt="The picture searched by" />
      <figcaption class="muted">${crop ? `A ${crop.width}×${crop.height} region of this picture` : "This picture"}</figcaption>
    </figure>
    ${loading && html`<${Loading} what="Looking for pins like it…" />`}
    ${error && html`<${Failure} error=${error} retry=${reload} />`}
    ${data && data.searchByImage.length === 0 && html`<p class="empty">No public pin looks like it yet.</p>`}
    ${data && data.searchByImage.length > 0 &&
      html`<${PinGrid} pins=${data.searchByImage.map((match) => match.pin)} label="Visual matches" pages=${1} />`}
  </section>`;
}
