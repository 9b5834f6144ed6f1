// The page of `ogan-tf serve`: plain JavaScript over the JSON endpoints of
// ogan_tf/apps/serve/server.py. State: the current image's code (codeA), the
// second image's code (codeB), the sliders (vector, unit, amount).
"use strict";

const state = { info: null, codeA: null, codeB: null, sliders: [], seed: 0,
                editing: false, editAgain: false };
const $ = (id) => document.getElementById(id);

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

async function call(path, body, raw) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": raw ? "application/octet-stream" : "application/json" },
    body: raw ? body : JSON.stringify(body),
  };
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    throw new Error("the server does not answer (is `ogan-tf serve` still running?)");
  }
  let answer;
  try {
    answer = await response.json();
  } catch (err) {
    throw new Error(`the server answered ${response.status} without JSON`);
  }
  if (!response.ok) throw new Error(answer.error || `error ${response.status}`);
  return answer;
}

function image(src, title) {
  const img = document.createElement("img");
  img.src = src;
  if (title) img.title = title;
  return img;
}

// The model and its sliders -----------------------------------------------------------
async function loadInfo() {
  const info = await call("/api/info");
  state.info = info;
  $("about").textContent = `run ${info.run}, step ${info.step}, weights ${info.weights}; ` +
    `${info.resolution} px, z_dim ${info.z_dim}, reconstruction scale s = ${info.recon_scale}`;
  for (const note of info.notes) {
    const li = document.createElement("li");
    li.textContent = note;
    $("notes").appendChild(li);
  }
  info.sliders.forEach(addSlider);
  $("index-about").textContent = info.index
    ? `the ${info.index.images} images of ${info.index.folder} nearest to the image above ` +
      "(cosine similarity of the codes)"
    : "start the page with --images DIR to search a folder";
}

function addSlider(slider) {
  const span = state.info.span;
  const row = document.createElement("div");
  row.className = "slider";
  const label = document.createElement("label");
  label.textContent = `${slider.name} (${slider.kind})`;
  label.title = slider.about;
  const input = document.createElement("input");
  Object.assign(input, { type: "range", min: -span, max: span, step: 0.1, value: 0 });
  input.className = "amount";
  input.dataset.name = slider.name;
  const shown = document.createElement("span");
  shown.textContent = "0";
  input.addEventListener("input", () => {
    slider.amount = Number(input.value);
    shown.textContent = input.value;
    edit();
  });
  row.append(label, input, shown);
  $("sliders").appendChild(row);
  slider.amount = 0;
  slider.input = input;
  slider.shown = shown;
  state.sliders.push(slider);
}

// Decoding as a slider moves: one request at a time, the latest values next.
async function edit() {
  if (!state.codeA) return;
  if (state.editing) { state.editAgain = true; return; }
  state.editing = true;
  try {
    const moves = state.sliders.filter((s) => s.amount !== 0)
      .map((s) => ({ vector: s.vector, amount: s.amount * s.unit }));
    const answer = await call("/api/edit", { code: state.codeA, moves });
    $("edited").src = answer.image;
    showError("");
  } catch (err) {
    showError(err.message);
  } finally {
    state.editing = false;
    if (state.editAgain) { state.editAgain = false; edit(); }
  }
}

// Images ---------------------------------------------------------------------------------
// Said before sending: the server answers a larger body with the same message.
function checkSize(file) {
  const limit = state.info.max_upload;
  if (file.size > limit) {
    throw new Error(`that file is ${Math.round(file.size / 2 ** 20)} MB; the page takes ` +
                    `files up to ${Math.round(limit / 2 ** 20)} MB`);
  }
}

async function upload(file) {
  try {
    checkSize(file);
    const answer = await call("/api/encode", file, true);
    state.codeA = answer.code;
    $("original").src = answer.original;
    $("reconstruction").src = answer.reconstruction;
    $("code").textContent = answer.code.map((c) => c.toFixed(3)).join("  ");
    showError("");
    await edit();
    await interpolate();
    await neighbours();
  } catch (err) {
    showError(`${file.name}: ${err.message}`);
  }
}

async function uploadB(file) {
  try {
    checkSize(file);
    state.codeB = (await call("/api/encode", file, true)).code;
    showError("");
    await interpolate();
  } catch (err) {
    showError(`${file.name}: ${err.message}`);
  }
}

async function interpolate() {
  if (!state.codeA || !state.codeB) return;
  const answer = await call("/api/interpolate", { a: state.codeA, b: state.codeB, steps: 8 });
  $("strip").replaceChildren(...answer.images.map((src) => image(src)));
}

async function neighbours() {
  if (!state.codeA || !state.info.index) return;
  const answer = await call("/api/neighbours", { code: state.codeA, k: 8 });
  $("neighbours").replaceChildren(...answer.neighbours.map((n) => {
    const figure = document.createElement("figure");
    const caption = document.createElement("figcaption");
    caption.textContent = `${n.similarity.toFixed(3)} ${n.name.split("/").pop()}`;
    figure.append(n.image ? image(n.image, n.name) : document.createTextNode("(unreadable)"),
                  caption);
    return figure;
  }));
}

async function samples() {
  try {
    const answer = await call("/api/samples", { n: 16, seed: state.seed++ });
    $("samples").replaceChildren(...answer.images.map((src) => image(src)));
  } catch (err) {
    showError(err.message);
  }
}

async function addDirection(file) {
  try {
    addSlider(await call("/api/direction", file, true));
    showError("");
  } catch (err) {
    showError(`${file.name}: ${err.message}`);
  }
}

// Wiring -----------------------------------------------------------------------------------
function onFile(input, handler) {
  input.addEventListener("change", () => {
    if (input.files.length) handler(input.files[0]);
    input.value = "";  // the same file again is a new change
  });
}

window.addEventListener("DOMContentLoaded", async () => {
  onFile($("file"), upload);
  onFile($("file-b"), uploadB);
  onFile($("direction-file"), addDirection);
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files.length) upload(e.dataTransfer.files[0]);
  });
  $("reset").addEventListener("click", () => {
    for (const s of state.sliders) { s.amount = 0; s.input.value = 0; s.shown.textContent = "0"; }
    edit();
  });
  $("more-samples").addEventListener("click", samples);
  try {
    await loadInfo();
    await samples();
  } catch (err) {
    showError(err.message);
  }
});
