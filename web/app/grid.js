// The masonry grid of pins, its infinite scroll, and progressive pictures.
import { html } from "htm/preact";
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { recall, remember } from "./cache.js";
import { Link } from "./router.js";

// What a grid needs of a pin; plain fields, no fragment, so the server can reuse its answer.
export const CARD = `id title creator { handle displayName }
  image { width height dominantColor small: url(size: SMALL) }`;

const COLUMN = 236;
const GAP = 16;
const CAPTION = 44; // title and creator lines under a picture, in px

export function Picture({ image, alt, size = "small", under = null, eager = false }) {
  if (!image) return html`<div class="picture no-image" role="img" aria-label=${alt}>No image</div>`;
  const style = `aspect-ratio: ${image.width} / ${image.height}; background: ${image.dominantColor || "#efefef"}`;
  return html`<div class="picture" style=${style}>
    ${under && html`<${Img} src=${under} alt="" eager />`}
    <${Img} src=${image[size]} alt=${alt} eager=${eager} width=${image.width} height=${image.height} />
  </div>`;
}

// Fades in when loaded: the dominant colour, then the picture.
function Img({ src, alt, eager, width, height }) {
  const ref = useRef(null);
  const [loaded, setLoaded] = useState(false);
  useLayoutEffect(() => {
    if (ref.current?.complete && ref.current.naturalWidth > 0) setLoaded(true);
  }, [src]);
  return html`<img ref=${ref} src=${src} alt=${alt} width=${width} height=${height}
    class=${loaded ? "loaded" : ""} loading=${eager ? "eager" : "lazy"} decoding="async"
    onLoad=${() => setLoaded(true)} />`;
}

export function PinCard({ pin }) {
  return html`<${Link} class="pin-card" href=${`/pin/${pin.id}`} data-pin-id=${pin.id}>
    <${Picture} image=${pin.image} alt=${pin.title} />
    <div class="caption" aria-hidden="true">${pin.title}</div>
    <div class="by">${pin.creator.displayName}</div>
  </${Link}>`;
}

export function PinGrid({ pins, label = "Pins", pages }) {
  const ref = useRef(null);
  const width = useWidth(ref);
  const columns = layout(pins, width);
  return html`<section ref=${ref} aria-label=${label}>
    <div class="grid" data-testid="pin-grid" data-pages=${pages} data-count=${pins.length}>
      ${columns.map(
        (column, i) => html`<div class="grid-column" key=${i} style=${`width: ${column.width}px`}>
          ${column.pins.map((pin) => html`<${PinCard} key=${pin.id} pin=${pin} />`)}
        </div>`,
      )}
    </div>
  </section>`;
}

// Each pin goes to the shortest column. Heights come from the images' sizes, known before
// they load, so nothing moves as pictures arrive, and a new page only adds below.
function layout(pins, width) {
  if (!width) return [];
  let count = Math.max(1, Math.floor((width + GAP) / (COLUMN + GAP)));
  let columnWidth = COLUMN;
  if (width < 640) {
    count = 2;
    columnWidth = Math.floor((width - GAP) / 2);
  }
  const columns = Array.from({ length: count }, () => ({ width: columnWidth, height: 0, pins: [] }));
  for (const pin of pins) {
    const ratio = pin.image ? pin.image.height / pin.image.width : 0.6;
    const shortest = columns.reduce((a, b) => (b.height < a.height ? b : a));
    shortest.pins.push(pin);
    shortest.height += columnWidth * ratio + CAPTION + GAP;
  }
  return columns;
}

function useWidth(ref) {
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const observer = new ResizeObserver(([entry]) => setWidth(Math.floor(entry.contentRect.width)));
    observer.observe(ref.current);
    return () => observer.disconnect();
  }, []);
  return width;
}

// A paged list of pins kept in the client cache under `key`: `loadPage(after)` returns
// {pins, endCursor, hasNextPage}. Pages load as the end of the list comes into view.
export function usePages(key, loadPage, { cache = true } = {}) {
  const [state, setState] = useState(
    () => (cache && recall(key)) || { pins: [], cursor: null, hasNext: true, pages: 0 },
  );
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState(null);
  const busy = useRef(false);
  const latest = useRef(state);
  latest.current = state;

  const more = useCallback(async () => {
    const now = latest.current;
    if (busy.current || !now.hasNext) return;
    busy.current = true;
    setLoading(true);
    setError(null);
    try {
      const page = await loadPage(now.cursor);
      const seen = new Set(now.pins.map((pin) => pin.id));
      const next = {
        pins: [...now.pins, ...page.pins.filter((pin) => !seen.has(pin.id))],
        cursor: page.endCursor,
        hasNext: page.hasNextPage && page.pins.length > 0,
        pages: now.pages + 1,
      };
      if (cache) remember(key, next);
      setState(next);
    } catch (caught) {
      setError(caught);
    } finally {
      busy.current = false;
      setLoading(false);
    }
  }, [key]);

  useEffect(() => {
    if (state.pages === 0) more();
  }, []);
  return { ...state, loading, error, more };
}

// Asks for the next page while the end of the grid is within a screen of view.
export function MoreOnScroll({ paged }) {
  const ref = useRef(null);
  useEffect(() => {
    const observer = new IntersectionObserver(
      ([entry]) => entry.isIntersecting && paged.more(),
      { rootMargin: "0px 0px 900px 0px" },
    );
    observer.observe(ref.current);
    return () => observer.disconnect();
  }, [paged.more]);
  // A short page leaves the end in view, which the observer does not report again.
  useEffect(() => {
    const box = ref.current.getBoundingClientRect();
    if (!paged.loading && !paged.error && paged.hasNext && paged.pages > 0 && box.top < innerHeight + 900) paged.more();
  }, [paged.pages]);
  return html`<div ref=${ref} class="more" aria-live="polite">
    ${paged.loading && html`<span>Loading pins…</span>`}
    ${paged.error && html`<div class="error" role="alert">${paged.error.message}
      <button class="button" onClick=${paged.more}>Try again</button></div>`}
    ${!paged.loading && !paged.error && paged.hasNext && paged.pages > 0 &&
      html`<button class="button" onClick=${paged.more}>Load more</button>`}
  </div>`;
}

export function PagedGrid({ paged, label, empty = "No pins here yet." }) {
  return html`
    ${paged.pins.length > 0 && html`<${PinGrid} pins=${paged.pins} label=${label} pages=${paged.pages} />`}
    ${paged.pages > 0 && paged.pins.length === 0 && !paged.error && html`<p class="empty">${empty}</p>`}
    <${MoreOnScroll} paged=${paged} />`;
}

export function connectionPage(connection) {
  return {
    pins: connection.edges.map((edge) => edge.node),
    endCursor: connection.pageInfo.endCursor,
    hasNextPage: connection.pageInfo.hasNextPage,
  };
}
