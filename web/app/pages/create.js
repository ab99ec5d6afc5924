// Create a pin: upload a picture (POST /media), then createPin with its imageKey on one of
// your boards (or a new one).
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { gql, uploadImage } from "../api.js";
import { forgetAll } from "../cache.js";
import { useQuery, Failure, Loading, SignInFirst } from "../data.js";
import { navigate } from "../router.js";
import { BoardOptions, SAVE_TARGETS, saveTargets } from "../boards.js";

export function CreatePage({ session }) {
  if (!session) return html`<${SignInFirst} to="create a pin" />`;
  return html`<${CreateForm} />`;
}

function CreateForm() {
  const boards = useQuery(SAVE_TARGETS, {}, { cache: false });
  const [file, setFile] = useState(null);
  const [preview, setPreview] = useState(null);
  const [fields, setFields] = useState({ title: "", description: "", link: "", boardId: "", newBoard: "" });
  const [step, setStep] = useState(null); // what is happening now, for the person waiting
  const [error, setError] = useState(null);

  useEffect(() => {
    if (!file) return undefined;
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);

  if (boards.error) return html`<${Failure} error=${boards.error} retry=${boards.reload} />`;
  if (!boards.data) return html`<${Loading} />`;
  const targets = saveTargets(boards.data);
  const mine = targets.all;
  const boardId = fields.boardId || mine[0]?.id || "new";
  const set = (name) => (event) => setFields({ ...fields, [name]: event.target.value });

  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      if (!file) throw new Error("Choose a picture first.");
      if (!fields.title.trim()) throw new Error("Give the pin a title.");
      if (boardId === "new" && !fields.newBoard.trim()) throw new Error("Name the new board.");
      setStep("Uploading the picture…");
      const stored = await uploadImage(file);
      let target = boardId;
      if (boardId === "new") {
        setStep("Creating the board…");
        const created = await gql(
          `mutation NewBoard($name: String!) { createBoard(input: { name: $name }) { id } }`,
          { name: fields.newBoard.trim() },
        );
        target = created.createBoard.id;
        // If what follows fails, trying again uses this board rather than making another.
        setFields((now) => ({ ...now, boardId: target }));
        boards.reload();
      }
      setStep("Creating the pin…");
      const input = { title: fields.title.trim(), boardId: target, imageKey: stored.imageKey };
      if (fields.description.trim()) input.description = fields.description.trim();
      if (fields.link.trim()) input.link = fields.link.trim();
      const data = await gql(`mutation CreatePin($input: CreatePinInput!) { createPin(input: $input) { id } }`, { input });
      forgetAll();
      navigate(`/pin/${data.createPin.id}`);
    } catch (caught) {
      setError(caught);
      setStep(null);
    }
  };

  return html`<div class="centered">
    <h1 class="page-title" tabindex="-1">Create a pin</h1>
    <form class="form" onSubmit=${submit}>
      <label>Image
        <input type="file" accept="image/*" required onChange=${(event) => setFile(event.target.files[0] || null)} />
        <span class="hint">JPEG, PNG, WebP or GIF.</span>
      </label>
      ${preview && html`<img src=${preview} alt="The picture to pin" style="max-width: 100%; border-radius: 16px" />`}
      <label>Title <input value=${fields.title} onInput=${set("title")} required maxlength="200" /></label>
      <label>Description <textarea rows="3" value=${fields.description} onInput=${set("description")} maxlength="2000"></textarea></label>
      <label>Link <input type="url" value=${fields.link} onInput=${set("link")} placeholder="https://" /></label>
      <label>Board
        <select value=${boardId} onChange=${set("boardId")}>
          <${BoardOptions} targets=${targets} />
        </select>
      </label>
      ${boardId === "new" && html`<label>New board name <input value=${fields.newBoard} onInput=${set("newBoard")} maxlength="100" /></label>`}
      <button class="button primary" disabled=${step !== null}>${step || "Create pin"}</button>
      <div aria-live="polite" class="muted">${step}</div>
      ${error && html`<${Failure} error=${error} />`}
    </form>
  </div>`;
}
