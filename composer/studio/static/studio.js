// composer studio: one page over the JSON API of composer/studio/routes.py. No framework, no build step.
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
const state = { runs: [], tracks: [] };

function showError(message) {
  const box = $("#error");
  box.textContent = message;
  box.hidden = !message;
}

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

const postJSON = (path, data) =>
  api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) });

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

const link = (text, href, cls) =>
  el("a", { href: href + (href.includes("?") ? "&" : "?") + "download=1", download: "", class: cls }, text);
const numberOrNull = (id) => ($(id).value === "" ? null : Number($(id).value));

// ---------------------------------------------------------------- tabs

function openTab(name) {
  document.querySelectorAll(".tab").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  document.querySelectorAll(".panel").forEach((p) => (p.hidden = p.id !== `tab-${name}`));
  if (name === "keep") loadKept().catch((e) => showError(e.message));
  if (name === "radio") refreshRadio();
}

// ---------------------------------------------------------------- runs

async function loadRuns() {
  state.runs = await api("/api/runs");
  const body = $("#runs-table tbody");
  body.replaceChildren(...state.runs.map((run) => el("tr", {},
    el("td", {}, run.name), el("td", {}, run.model || run.error), el("td", {}, run.corpus || ""),
    el("td", {}, String(run.step ?? "")),
    el("td", {}, run.held_out && run.held_out.value != null
      ? `${run.held_out.value.toFixed(3)} ${run.held_out.metric}` : ""),
    el("td", {}, (run.controls || []).join(", ") || "none"),
    el("td", {}, ...(run.samples || []).map((s) => el("a", { href: s.url, class: "sample" }, s.name + " "))))));
  const options = (filter) =>
    state.runs.filter(filter).map((r) => el("option", { value: r.name }, `${r.name} (${r.model})`));
  $("#gen-run").replaceChildren(...options((r) => r.model));
  $("#radio-run").replaceChildren(...options((r) => r.output === ".mid"));
  $("#radio-texture").replaceChildren(el("option", { value: "" }, "none"), ...options((r) => r.output === ".wav"));
  updateConditioned();
}

function updateConditioned() {
  // A field is offered when the run's family declares the option (run.options) and, for a
  // control, when the run was trained with it; primers are uploaded as MIDI.
  const run = state.runs.find((r) => r.name === $("#gen-run").value);
  const controls = (run && run.controls) || [];
  const takes = (option) => Boolean(run && (run.options || []).includes(option));
  $("#gen-key").disabled = !(takes("key") && controls.includes("pitch_histogram"));
  $("#gen-density").disabled = !(takes("density") && controls.includes("density"));
  $("#gen-top-p").disabled = !takes("top_p");
  $("#gen-primer").disabled = !(takes("primer") && run.output === ".mid");
}

// ---------------------------------------------------------------- jobs

async function waitForJob(job, progressId) {
  const box = $(progressId);
  box.hidden = false;
  for (;;) {
    job = await api(`/api/jobs/${job.id}`);
    $(".bar", box).style.width = `${Math.round(job.progress * 100)}%`;
    $(".stage", box).textContent = job.stage;
    if (job.status === "done") { box.hidden = true; return job.result; }
    if (job.status === "error") { box.hidden = true; throw new Error(job.error); }
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
}

// ---------------------------------------------------------------- generate

async function uploadPrimer() {
  const file = $("#gen-primer").files[0];
  if (!file || $("#gen-primer").disabled) return null;
  const form = new FormData();
  form.append("file", file);
  return (await api("/api/primers", { method: "POST", body: form })).id;
}

async function generate(event) {
  event.preventDefault();
  showError("");
  $("#gen-submit").disabled = true;
  try {
    const request = {
      run: $("#gen-run").value, seconds: Number($("#gen-seconds").value),
      temperature: Number($("#gen-temperature").value),
      num: Number($("#gen-num").value), seed: numberOrNull("#gen-seed"), primer: await uploadPrimer(),
      top_p: $("#gen-top-p").disabled ? null : numberOrNull("#gen-top-p"),
      key: $("#gen-key").disabled || !$("#gen-key").value ? null : $("#gen-key").value,
      density: $("#gen-density").disabled ? null : numberOrNull("#gen-density"),
    };
    $("#takes").replaceChildren();
    const result = await waitForJob(await postJSON("/api/generate", request), "#gen-progress");
    $("#takes").replaceChildren(...result.takes.map((take) => takeCard(result.job, take)));
  } catch (error) {
    showError(error.message);
  } finally {
    $("#gen-submit").disabled = false;
  }
}

function takeCard(job, take) {
  const audio = el("audio", { controls: "", preload: "auto", src: take.files.wav });
  const keepButton = el("button", { class: "keep", type: "button" }, "Keep");
  keepButton.addEventListener("click", async () => {
    showError("");
    try {
      const kept = await postJSON("/api/keep", { job, take: take.take });
      keepButton.textContent = `Kept as ${kept.name}`;
      keepButton.disabled = true;
    } catch (error) { showError(error.message); }
  });
  return el("div", { class: "card take", "data-take": take.take },
    el("strong", {}, `Variation ${take.take}`),
    el("img", { src: take.files.plot, alt: `take ${take.take}` }), audio,
    el("p", {},
      el("button", { class: "play", type: "button", onclick: () => audio.play().catch((e) => showError(e.message)) },
        "Play"),
      " ", keepButton),
    el("p", { class: "links" }, take.files.midi ? link("MIDI", take.files.midi) : null,
      take.files.quantized ? link("quantized MIDI", take.files.quantized) : null, link("wav", take.files.wav)));
}

// ---------------------------------------------------------------- keep

async function loadKept() {
  const kept = await api("/api/kept");
  $("#kept-list").replaceChildren(...kept.map((take) => el("div", { class: "card kept", "data-name": take.name },
    el("strong", {}, take.name),
    take.files.png ? el("img", { src: take.files.png, alt: take.name }) : null,
    el("audio", { controls: "", preload: "none", src: take.files.wav }),
    el("p", { class: "links" }, take.files.mid ? link("MIDI", take.files.mid, "download-midi") : null,
      take.files["q16.mid"] ? link("quantized MIDI", take.files["q16.mid"], "download-quantized") : null,
      take.musicxml ? link("MusicXML", take.musicxml, "download-musicxml") : null,
      link("wav", take.files.wav, "download-wav"), link("settings JSON", take.sidecar, "download-json")),
    el("code", {}, take.command),
    el("p", {}, el("button", { class: "add-to-mix", type: "button", onclick: () => addTrack(take) }, "Add to mix")))));
}

// ---------------------------------------------------------------- mix

function addTrack(take) {
  state.tracks.push({ source: take.stem, gain_db: 0, pan: 0, start: 0, fade_in: 0, fade_out: 0, lufs: -20 });
  drawTracks();
  openTab("mix");
}

function drawTracks() {
  const fields = ["gain_db", "pan", "start", "fade_in", "fade_out", "lufs"];
  $("#mix-empty").hidden = state.tracks.length > 0;
  $("#mix-tracks tbody").replaceChildren(...state.tracks.map((track, i) => el("tr", {},
    el("td", {}, track.source),
    ...fields.map((field) => el("td", {}, el("input", {
      type: "number", step: "any", value: track[field] ?? "", class: `track-${field}`,
      onchange: (e) => (track[field] = e.target.value === "" ? null : Number(e.target.value)) }))),
    el("td", {}, el("button", { type: "button", onclick: () => { state.tracks.splice(i, 1); drawTracks(); } },
      "remove")))));
}

async function renderMix() {
  showError("");
  $("#mix-render").disabled = true;
  try {
    const request = { name: $("#mix-name").value, tracks: state.tracks, target_lufs: numberOrNull("#mix-lufs"),
                      length: numberOrNull("#mix-length") };
    const result = await waitForJob(await postJSON("/api/mix", request), "#mix-progress");
    $("#mix-audio").src = result.files.wav;
    $("#mix-plot").src = result.files.plot || "";
    $("#mix-result .links").replaceChildren(
      el("span", {}, `${result.length_s.toFixed(1)} s, ${result.lufs?.toFixed(1)} LUFS, `
        + `peak ${result.peak_db?.toFixed(1)} dBFS `),
      link("mix wav", result.files.wav, "download-mix"),
      link("mix.yaml (for composer mix)", result.files.spec, "download-spec"),
      link("mix.json", result.files.report));
    $("#mix-result").hidden = false;
  } catch (error) {
    showError(error.message);
  } finally {
    $("#mix-render").disabled = false;
  }
}

// ---------------------------------------------------------------- radio

function radioControls() {
  return { run: $("#radio-run").value || null, temperature: Number($("#radio-temperature").value),
           key: $("#radio-key").value, density: Number($("#radio-density").value || 0),
           texture: $("#radio-texture").value, texture_db: numberOrNull("#radio-texture-db") };
}

async function refreshRadio() {
  try {
    const status = await api("/api/radio");
    const lines = [`running: ${status.running}   segments: ${status.segments} x ${status.segment_s} s`,
      `generated ${status.generated_s} s, streamed ${status.played_s} s: ${status.lead_s} s ahead`,
      `least ahead when a segment arrived: ${status.min_lead_s ?? "-"} s; `
        + `made at ${status.realtime_factor ?? "-"}x real time`,
      `underruns: ${status.underrun_s} s`];
    if (status.settings) lines.push(`settings: ${JSON.stringify(status.settings)}`);
    $("#radio-status").textContent = lines.join("\n");
    if (status.error) showError(`radio: ${status.error}`);
  } catch (error) { showError(error.message); }
}

async function startRadio() {
  showError("");
  try {
    await postJSON("/api/radio/controls", radioControls());
    const audio = $("#radio-audio");
    audio.src = `/api/radio/stream.wav?t=${Date.now()}`;
    await audio.play();
  } catch (error) { showError(error.message); }
}

async function applyRadio() {
  showError("");
  try {
    await postJSON("/api/radio/controls", radioControls());
    refreshRadio();
  } catch (error) { showError(error.message); }
}

async function stopRadio() {
  $("#radio-audio").pause();
  $("#radio-audio").removeAttribute("src");
  try { await postJSON("/api/radio/stop", {}); refreshRadio(); } catch (error) { showError(error.message); }
}

// ---------------------------------------------------------------- transcribe

async function transcribe() {
  showError("");
  const file = $("#tr-file").files[0];
  if (!file) { showError("choose a song to transcribe"); return; }
  $("#tr-submit").disabled = true;
  $("#tr-result").hidden = true;
  try {
    const form = new FormData();
    form.append("file", file);
    const job = await api("/api/transcribe", { method: "POST", body: form });
    const result = await waitForJob(job, "#tr-progress");
    $("#tr-result .title").textContent =
      `${result.name}: ${result.notes} notes over ${result.seconds} s (pitches ${result.pitch_range.join("-")})`;
    $("#tr-plot").src = result.files.plot;
    $("#tr-audio").src = result.files.wav;
    $("#tr-result .links").replaceChildren(link("MIDI", result.files.midi, "download-transcription"),
      link("wav of the MIDI", result.files.wav));
    $("#tr-result").hidden = false;
  } catch (error) {
    showError(error.message);
  } finally {
    $("#tr-submit").disabled = false;
  }
}

// ---------------------------------------------------------------- start

window.addEventListener("DOMContentLoaded", async () => {
  document.querySelectorAll(".tab").forEach((b) => b.addEventListener("click", () => openTab(b.dataset.tab)));
  $("#gen-form").addEventListener("submit", generate);
  $("#gen-run").addEventListener("change", updateConditioned);
  $("#mix-render").addEventListener("click", renderMix);
  $("#radio-start").addEventListener("click", startRadio);
  $("#radio-apply").addEventListener("click", applyRadio);
  $("#radio-stop").addEventListener("click", stopRadio);
  $("#tr-submit").addEventListener("click", transcribe);
  setInterval(() => { if (!$("#tab-radio").hidden) refreshRadio(); }, 2000);
  try {
    const info = await api("/api/info");
    $("#session").textContent = `session: ${info.session}`;
    $("#kept-folder").textContent = `${info.session}/kept`;
    await loadRuns();
  } catch (error) { showError(error.message); }
});
