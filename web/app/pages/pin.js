// A pin's close-up: the picture (SMALL at once, MEDIUM when it arrives), saving it to one of
// your boards, related and visually similar pins, and search by a region of the picture.
import { html } from "htm/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { gql } from "../api.js";
import { forgetAll } from "../cache.js";
import { useAction, useQuery, Failure, Loading } from "../data.js";
import { CARD, Picture, PinGrid } from "../grid.js";
import { Link, navigate } from "../router.js";
import { BoardOptions, SAVE_TARGETS, saveTargets } from "../boards.js";
import { Conversation } from "./comments.js";

const CLOSEUP = `query PinCloseUp($id: ID!) {
  pin(id: $id) {
    id title description link createdAt saveCount
    creator { id handle displayName }
    image { key width height dominantColor small: url(size: SMALL) medium: url(size: MEDIUM) }
    topics { name }
    boards(first: 5) { totalCount edges { node { id name owner { handle } } } }
  }
}`;

export function PinPage({ params, session }) {
  const { data, error, loading, reload } = useQuery(CLOSEUP, { id: params.id }, { cache: false });
  useEffect(() => {
    if (session) {
      gql(`mutation CloseUp($id: ID!) { recordEngagement(pinId: $id, kind: CLOSEUP) }`, { id: params.id }).catch(() => {});
    }
  }, [params.id]);
  if (loading && !data) return html`<${Loading} what="Loading the pin…" />`;
  if (error) return html`<${Failure} error=${error} retry=${reload} />`;
  const pin = data.pin;
  if (!pin) {
    return html`<div class="centered"><h1 class="page-title" tabindex="-1">Pin not found</h1>
      <p class="muted">It was deleted, or it is on a secret board.</p></div>`;
  }
  return html`<article class="closeup">
      <${RegionSearch} pin=${pin} session=${session} />
      <div class="closeup-info">
        <h1 class="page-title" tabindex="-1">${pin.title}</h1>
        ${pin.description && html`<p>${pin.description}</p>`}
        ${linkHost(pin.link) && html`<p><a href=${pin.link} rel="noopener noreferrer nofollow" target="_blank">Visit ${linkHost(pin.link)}</a></p>`}
        <p class="muted">by <${Link} href=${`/u/${pin.creator.handle}`}>${pin.creator.displayName}</${Link}>${" · "}saved ${pin.saveCount} ${pin.saveCount === 1 ? "time" : "times"}</p>
        <div class="chips">${pin.topics.map((topic) => html`<${Link} class="chip" href=${`/search?q=${encodeURIComponent(topic.name)}`}>${topic.name}</${Link}>`)}</div>
        ${session ? html`<${SaveToBoard} pin=${pin} />` : html`<p><${Link} class="button primary" href=${`/signin?next=/pin/${pin.id}`}>Sign in to save</${Link}></p>`}
        <${Conversation} pinId=${pin.id} session=${session} />
        ${pin.boards.totalCount > 0 && html`<h2 class="section-title">On boards</h2>
          <ul class="board-list">${pin.boards.edges.map(({ node }) => html`<li key=${node.id}>
            <${Link} href=${`/board/${node.id}`}>${node.name}</${Link}> <span class="muted">by ${node.owner.handle}</span></li>`)}</ul>`}
      </div>
    </article>
    <${MorePins} id=${pin.id} field="visuallySimilar" first=${12} title="Visually similar" />
    <${MorePins} id=${pin.id} field="related" first=${30} title="Related pins" />`;
}

// Only web links are followed: a `javascript:` link must never become clickable.
function linkHost(link) {
  try {
    const url = new URL(link);
    return url.protocol === "https:" || url.protocol === "http:" ? url.hostname : null;
  } catch {
    return null;
  }
}

function MorePins({ id, field, first, title }) {
  const { data, error, reload } = useQuery(
    `query More($id: ID!, $first: Int!) { pin(id: $id) { ${field}(first: $first) { ${CARD} } } }`,
    { id, first },
  );
  const pins = data?.pin?.[field] || [];
  return html`<section aria-labelledby=${`${field}-title`}>
    <h2 class="section-title" id=${`${field}-title`}>${title}</h2>
    ${error && html`<${Failure} error=${error} retry=${reload} />`}
    ${data && pins.length === 0 && html`<p class="muted">None yet.</p>`}
    ${pins.length > 0 && html`<${PinGrid} pins=${pins} label=${title} pages=${1} />`}
  </section>`;
}

function SaveToBoard({ pin }) {
  const { data, error, reload } = useQuery(
    SAVE_TARGETS,
    {},
    { cache: false },
  );
  const [boardId, setBoardId] = useState("");
  const [newName, setNewName] = useState("");
  const [status, setStatus] = useState(null);
  const { busy, error: failure, act } = useAction();
  const made = useRef(null);
  if (error) return html`<${Failure} error=${error} retry=${reload} />`;
  if (!data) return html`<${Loading} what="Loading your boards…" />`;
  const targets = saveTargets(data);
  const boards = targets.all;
  const chosen = boardId || boards[0]?.id || "";

  const save = (event) => {
    event.preventDefault();
    act(async () => {
      let board = boards.find((b) => b.id === chosen) || (made.current?.id === chosen ? made.current : null);
      if (!board) {
        if (!newName.trim()) throw new Error("Name the new board first.");
        const created = await gql(
          `mutation NewBoard($name: String!) { createBoard(input: { name: $name }) { id name } }`,
          { name: newName.trim() },
        );
        board = created.createBoard;
        // Trying again after a failed save uses this board rather than making another.
        made.current = board;
        setBoardId(board.id);
        reload();
      }
      await gql(`mutation Save($pinId: ID!, $boardId: ID!) { savePin(pinId: $pinId, boardId: $boardId) { id saveCount } }`, {
        pinId: pin.id,
        boardId: board.id,
      });
      forgetAll();
      setStatus(board);
      reload();
    });
  };

  return html`<form class="form" onSubmit=${save} aria-label="Save this pin">
    <div class="row">
      ${boards.length > 0 &&
        html`<label class="visually-hidden" for="board-select">Board</label>
        <select id="board-select" value=${chosen} onChange=${(event) => setBoardId(event.target.value)}>
          <${BoardOptions} targets=${targets} />
        </select>`}
      ${(boards.length === 0 || chosen === "new") &&
        html`<label>New board name <input value=${newName} onInput=${(event) => setNewName(event.target.value)} maxlength="100" /></label>`}
      <button class="button primary" disabled=${busy}>${busy ? "Saving…" : "Save"}</button>
    </div>
    <div aria-live="polite">
      ${status && html`<p class="status">Saved to <${Link} href=${`/board/${status.id}`}>${status.name}</${Link}></p>`}
    </div>
    ${failure && html`<${Failure} error=${failure} />`}
  </form>`;
}

// Drag across the picture to choose a region; the search runs on the original's pixels.
function RegionSearch({ pin, session }) {
  const box = useRef(null);
  const [selecting, setSelecting] = useState(false);
  const [region, setRegion] = useState(null); // in displayed pixels: {x, y, width, height}
  const start = useRef(null);
  const image = pin.image;

  const point = (event) => {
    const rect = box.current.getBoundingClientRect();
    return {
      x: Math.min(Math.max(event.clientX - rect.left, 0), rect.width),
      y: Math.min(Math.max(event.clientY - rect.top, 0), rect.height),
    };
  };
  const down = (event) => {
    if (!selecting) return;
    event.preventDefault();
    box.current.setPointerCapture?.(event.pointerId);
    start.current = point(event);
    setRegion(null);
  };
  const move = (event) => {
    if (!selecting || !start.current) return;
    const here = point(event);
    const from = start.current;
    setRegion({
      x: Math.min(from.x, here.x),
      y: Math.min(from.y, here.y),
      width: Math.abs(here.x - from.x),
      height: Math.abs(here.y - from.y),
    });
  };
  const up = () => {
    start.current = null;
  };

  const search = (crop) => {
    const params = new URLSearchParams({ image: image.key });
    if (crop) {
      const scale = image.width / box.current.getBoundingClientRect().width;
      const pixels = [crop.x, crop.y, crop.width, crop.height].map((value) => Math.round(value * scale));
      pixels[2] = Math.max(1, Math.min(pixels[2], image.width - pixels[0]));
      pixels[3] = Math.max(1, Math.min(pixels[3], image.height - pixels[1]));
      params.set("crop", pixels.join(","));
    }
    navigate(`/search?${params}`);
  };

  return html`<div class=${`closeup-image${selecting ? " selecting" : ""}`}>
    <div ref=${box} data-testid="closeup-image" style="position: relative"
      onPointerDown=${down} onPointerMove=${move} onPointerUp=${up}>
      <${Picture} image=${image} alt=${pin.title} size="medium" under=${image?.small} eager />
      ${region && html`<div class="selection" style=${`left:${region.x}px;top:${region.y}px;width:${region.width}px;height:${region.height}px`}></div>`}
    </div>
    ${image && session && html`<div class="row" style="margin-top: .75rem">
      <button class="button" aria-pressed=${selecting} onClick=${() => { setSelecting(!selecting); setRegion(null); }}>
        Select a region</button>
      ${selecting && html`<button class="button primary" disabled=${!region || region.width < 8 || region.height < 8}
        onClick=${() => search(region)}>Search this region</button>`}
      ${!selecting && html`<button class="button" onClick=${() => search(null)}>Find similar images</button>`}
    </div>
    ${selecting && html`<p class="muted">Drag across the picture to choose the part to search by.</p>`}`}
  </div>`;
}
