// The wasmrpc explorer: lists modules, shows a module's functions and message schemas, calls a
// function with JSON, and re-checks log receipts in the browser with WebCrypto (RFC 9162 hashes
// from leaf to root, the checkpoint's Ed25519 signature against the key the page trusts).
// Everything comes from the JSON API (/openapi.yaml); nothing is loaded from elsewhere.
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
const state = { modules: [], trustedKey: "", token: "", serverKey: "" };

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function showError(message) {
  const box = $("#error");
  box.textContent = message;
  box.hidden = !message;
}

// GET or POST against the API; throws the server's error message.
async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (state.token) headers["Authorization"] = "Bearer " + state.token;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (_) { body = null; }
  if (!response.ok) {
    const message = body && body.error ? `${body.error.status}: ${body.error.message}` : `HTTP ${response.status}`;
    throw new Error(message);
  }
  return { body, text, response };
}

// ---- bytes, hashes and signatures ----

function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) { out.set(part, offset); offset += part.length; }
  return out;
}

function equalBytes(a, b) {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

const leafHash = (leaf) => sha256(concat(new Uint8Array([0]), leaf));
const nodeHash = (left, right) => sha256(concat(new Uint8Array([1]), left, right));

// RFC 9162 §2.1.3.2: the root that `proof` gives for leaf `index` of a tree of `size` leaves, or
// null when the proof has the wrong length for them.
async function rootFromInclusionProof(index, size, hash, proof) {
  let fn = BigInt(index), sn = BigInt(size) - 1n, r = hash;
  if (fn > sn) return null;
  for (const p of proof) {
    if (sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

// A C2SP signed note's verifier key: name+hash+base64(0x01 || Ed25519 public key).
function parseVerifierKey(text) {
  // The name has no "+"; the base64 key may.
  const trimmed = text.trim();
  const first = trimmed.indexOf("+"), second = trimmed.indexOf("+", first + 1);
  if (first <= 0 || second < 0) throw new Error("a verifier key is name+hash+key");
  const [name, hash, encoded] = [trimmed.slice(0, first), trimmed.slice(first + 1, second), trimmed.slice(second + 1)];
  const key = fromBase64(encoded);
  if (key.length !== 33 || key[0] !== 1) throw new Error("the verifier key is not an Ed25519 key");
  if (!/^[0-9a-f]{8}$/.test(hash)) throw new Error("the verifier key's hash is not 8 hex digits");
  return { name, hash, publicKey: key.slice(1), keyBytes: key };
}

// Checks `note` (a C2SP tlog-checkpoint) against `keyText`; answers {size, root} or throws why not.
async function verifyCheckpoint(note, keyText) {
  const key = parseVerifierKey(keyText);
  const split = note.indexOf("\n\n");
  if (split < 0) throw new Error("the checkpoint has no signature block");
  const body = note.slice(0, split + 1);
  const lines = body.split("\n");
  if (lines.length < 4) throw new Error("the checkpoint has fewer than three lines");
  const [origin, sizeText, rootText] = lines;
  if (origin !== key.name) throw new Error(`the checkpoint is of ${origin}, the key of ${key.name}`);
  const expectedID = (await sha256(concat(new TextEncoder().encode(key.name + "\n"), key.keyBytes))).slice(0, 4);
  if (toHex(expectedID) !== key.hash) throw new Error("the verifier key's hash does not match its name and key");
  const publicKey = await crypto.subtle.importKey("raw", key.publicKey, { name: "Ed25519" }, false, ["verify"]);
  for (const line of note.slice(split + 2).split("\n")) {
    const match = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!match || match[1] !== key.name) continue;
    const signature = fromBase64(match[2]);
    if (signature.length !== 68 || !equalBytes(signature.slice(0, 4), expectedID)) continue;
    const good = await crypto.subtle.verify({ name: "Ed25519" }, publicKey, signature.slice(4), new TextEncoder().encode(body));
    if (!good) throw new Error("the checkpoint's signature does not verify with the trusted key");
    if (!/^[0-9]+$/.test(sizeText)) throw new Error("the checkpoint's size is not a number");
    return { size: BigInt(sizeText), root: fromBase64(rootText) };
  }
  throw new Error("the checkpoint has no signature by the trusted key");
}

// Re-checks a log receipt (leaf, index, tree size, inclusion proof, checkpoint): the leaf hashes
// up to the checkpoint's root, and the checkpoint is signed by the trusted key. `expect` checks
// the leaf itself. Answers a list of what was checked; throws at the first failure.
async function verifyReceipt(receipt, expect) {
  const checked = [];
  const leaf = fromBase64(receipt.leaf);
  await expect(leaf, checked);
  const keyText = state.trustedKey || state.serverKey;
  const checkpoint = await verifyCheckpoint(receipt.checkpoint, keyText);
  checked.push(state.trustedKey
    ? "checkpoint signature verified (Ed25519) with the trusted key"
    : "checkpoint signature verified (Ed25519) with the key the server reports; set a trusted key for an independent check");
  if (checkpoint.size !== BigInt(receipt.treeSize)) throw new Error("the proof is for another tree size than the checkpoint's");
  const root = await rootFromInclusionProof(receipt.leafIndex, receipt.treeSize, await leafHash(leaf), receipt.inclusionProof.map(fromBase64));
  if (!root) throw new Error("the inclusion proof has the wrong length for its leaf and tree");
  if (!equalBytes(root, checkpoint.root)) throw new Error("the inclusion proof does not lead to the checkpoint's root");
  checked.push(`SHA-256 from leaf ${receipt.leafIndex} through ${receipt.inclusionProof.length} proof hashes reaches the root of the ${receipt.treeSize}-leaf tree`);
  return checked;
}

function moduleLeafCheck(module) {
  return async (leaf, checked) => {
    const lines = new TextDecoder().decode(leaf).split("\n");
    if (lines[0] !== "wasmrpc module v1" || lines[1] !== "id " + module.id) throw new Error("the leaf does not name this module");
    if (lines[2] !== "size " + module.size) throw new Error("the leaf gives another size");
    checked.push("the leaf names this module's id and size");
  };
}

function transactionLeafCheck(transactionID) {
  return async (leaf, checked) => {
    if (toHex(await sha256(leaf)) !== transactionID) throw new Error("the leaf's SHA-256 is not the transaction id");
    checked.push("the leaf's SHA-256 is the transaction id");
  };
}

// Renders a receipt check into `box` (classes proof and verified or failed, a status line and the
// details).
async function showProof(box, title, receipt, expect) {
  box.classList.remove("verified", "failed");
  box.classList.add("proof");
  box.replaceChildren(element("p", { className: "proof-status", text: `${title}: checking…` }));
  try {
    const checked = await verifyReceipt(receipt, expect);
    box.classList.add("verified");
    box.replaceChildren(
      element("p", { className: "proof-status", text: `${title}: verified` }),
      element("ul", {}, ...checked.map((line) => element("li", { text: line }))),
      element("details", {}, element("summary", { text: "Leaf, proof and checkpoint" }),
        element("pre", { text: new TextDecoder().decode(fromBase64(receipt.leaf)) }),
        element("pre", { text: receipt.inclusionProof.map((h) => toHex(fromBase64(h))).join("\n") || "(no hashes: a one-leaf tree)" }),
        element("pre", { text: receipt.checkpoint })));
  } catch (error) {
    box.classList.add("failed");
    box.replaceChildren(element("p", { className: "proof-status", text: `${title}: NOT verified — ${error.message}` }));
  }
}

// ---- pages ----

async function loadCheckpoint() {
  const { body } = await api("/v1/log/checkpoint");
  state.serverKey = body.verifierKey;
  const lines = body.checkpoint.split("\n");
  const summary = $("#checkpoint-summary");
  summary.textContent = `${lines[0]}: ${lines[1]} leaves, root ${toHex(fromBase64(lines[2])).slice(0, 16)}…`;
  if (state.trustedKey && state.trustedKey !== body.verifierKey) {
    summary.textContent += " — the server reports another key than the trusted one";
  }
  if (!$("#verifier-key").value) $("#verifier-key").placeholder = body.verifierKey;
}

async function loadModules() {
  const modules = [];
  let token = "";
  do {
    const { body } = await api("/v1/modules?page_size=1000" + (token ? "&page_token=" + encodeURIComponent(token) : ""));
    modules.push(...body.modules);
    token = body.nextPageToken;
  } while (token && modules.length < 100000);
  state.modules = modules;
  renderModules();
}

function renderModules() {
  const query = $("#search").value.trim().toLowerCase();
  const shown = state.modules.filter((m) => !query || m.id.startsWith(query) || m.name.toLowerCase().includes(query));
  $("#module-list").replaceChildren(...shown.map((m) => element("li", { className: "module-row", "data-id": m.id },
    element("a", { href: "#module/" + m.id, text: m.name || "(unnamed)" }), " ",
    element("span", { className: "muted", text: `${m.size} bytes, ${m.functions.length} function${m.functions.length === 1 ? "" : "s"}, added ${m.added}` }),
    element("div", { className: "id mono muted", text: m.id }))));
  $("#modules-status").textContent = `${shown.length} of ${state.modules.length} modules`;
}

function schemaText(schemas, name) {
  // The message's schema and the schemas it refers to, in the order they are met.
  const seen = new Set(), order = [];
  const visit = (typeName) => {
    if (seen.has(typeName) || !schemas[typeName]) return;
    seen.add(typeName); order.push(typeName);
    JSON.stringify(schemas[typeName], (key, value) => {
      if (key === "$ref" && typeof value === "string") visit(value.replace("#/schemas/", ""));
      return value;
    });
  };
  visit(name);
  const picked = {};
  for (const typeName of order) picked[typeName] = schemas[typeName];
  return JSON.stringify(picked, null, 2);
}

async function showModule(id) {
  $("#modules").hidden = true;
  const section = $("#module");
  section.hidden = false;
  $("#module-title").textContent = "Loading " + id.slice(0, 12) + "…";
  $("#functions").replaceChildren();
  $("#module-proof").replaceChildren();
  const { body: module } = await api("/v1/modules/" + encodeURIComponent(id));
  $("#module-title").textContent = module.name || "(unnamed)";
  const facts = [["id", module.id], ["size", module.size + " bytes"], ["added", module.added], ["log leaf", String(module.receipt.leafIndex)]];
  $("#module-facts").replaceChildren(...facts.flatMap(([term, value]) => [element("dt", { text: term }), element("dd", { className: term === "id" ? "mono" : "", text: value })]));
  $("#module-facts").append(element("dt", { text: "download" }), element("dd", {},
    element("a", { href: `/v1/modules/${module.id}/wasm`, text: "module" }), " · ",
    element("a", { href: `/v1/modules/${module.id}/descriptor`, text: "descriptor set" })));
  showProof($("#module-proof"), "Inclusion proof", module.receipt, moduleLeafCheck(module));
  $("#functions").replaceChildren(...module.functions.map((f) => functionCard(module, f)));
}

function functionCard(module, f) {
  const id = "function-" + f.path.replace(/[^A-Za-z0-9]/g, "-");
  const request = element("textarea", { className: "request", spellcheck: "false", "aria-label": `${f.name} request (JSON)` });
  const button = element("button", { type: "submit", className: "call", text: "Call" });
  const another = element("button", { type: "button", className: "another", text: "Another random request" });
  const answer = element("pre", { className: "answer", hidden: "" });
  const meta = element("div", { className: "answer-meta" });
  const receipt = element("div", { className: "receipt" });
  const form = element("form", {}, element("label", { text: `Request (${f.inputType}, proto3 JSON)` }), request, button, " ", another);
  const streaming = f.clientStreaming && !f.serverStreaming;
  const card = element("article", { className: "function", id },
    element("h4", { text: f.path }),
    element("div", { className: "schemas" },
      element("div", {}, element("div", { className: "muted", text: "request " + f.inputType }), element("pre", { text: schemaText(module.schemas, f.inputType) })),
      element("div", {}, element("div", { className: "muted", text: "response " + f.outputType }), element("pre", { text: schemaText(module.schemas, f.outputType) }))),
    streaming ? element("p", { className: "muted", text: "client-streaming: not callable with one request" }) : form,
    meta, answer, receipt);
  const fill = async () => {
    try {
      const { text } = await api(`/v1/modules/${module.id}/functions/${encodeURIComponent(f.name)}/example`);
      request.value = JSON.stringify(JSON.parse(text), null, 2);
    } catch (error) { showError(error.message); }
  };
  another.addEventListener("click", fill);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    meta.replaceChildren();
    receipt.replaceChildren();
    const started = performance.now();
    try {
      const { text, response } = await api(`/v1/modules/${module.id}/functions/${encodeURIComponent(f.name)}`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: request.value,
      });
      const elapsed = performance.now() - started;
      answer.hidden = false;
      answer.className = "answer";
      answer.textContent = JSON.stringify(JSON.parse(text), null, 2);
      meta.append(
        element("span", { className: "time", text: `time ${elapsed.toFixed(1)} ms` }),
        element("span", { className: "fuel", text: `fuel ${response.headers.get("wasmrpc-fuel")}` }),
        element("span", { className: "request-id muted", text: `request ${response.headers.get("x-request-id")}` }));
      const transaction = response.headers.get("wasmrpc-transaction");
      if (transaction) {
        meta.append(element("span", { className: "transaction", text: `transaction ${response.headers.get("wasmrpc-transaction-sequence")} (${transaction.slice(0, 12)}…)` }));
        const { body } = await api("/v1/transactions/" + transaction);
        await showProof(receipt, "Transaction receipt", body.receipt, transactionLeafCheck(transaction));
      } else {
        meta.append(element("span", { className: "muted", text: "no state changed: no transaction" }));
      }
    } catch (error) {
      answer.hidden = false;
      answer.className = "answer error";
      answer.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });
  if (!streaming) fill();
  return card;
}

async function route() {
  showError("");
  const match = /^#module\/([0-9a-f]{64})$/.exec(location.hash);
  try {
    if (match) {
      await showModule(match[1]);
    } else {
      $("#module").hidden = true;
      $("#modules").hidden = false;
      await loadModules();
    }
  } catch (error) {
    showError(error.message);
  }
}

function loadSettings() {
  const given = new URLSearchParams(location.search).get("key");
  if (given) localStorage.setItem("wasmrpc.verifierKey", given);
  state.trustedKey = localStorage.getItem("wasmrpc.verifierKey") || "";
  state.token = sessionStorage.getItem("wasmrpc.token") || "";
  $("#verifier-key").value = state.trustedKey;
  $("#token").value = state.token;
}

$("#save-settings").addEventListener("click", () => {
  state.trustedKey = $("#verifier-key").value.trim();
  state.token = $("#token").value;
  if (state.trustedKey) localStorage.setItem("wasmrpc.verifierKey", state.trustedKey);
  else localStorage.removeItem("wasmrpc.verifierKey");
  sessionStorage.setItem("wasmrpc.token", state.token);
  loadCheckpoint().then(route).catch((error) => showError(error.message));
});
$("#search").addEventListener("input", renderModules);
window.addEventListener("hashchange", route);
loadSettings();
loadCheckpoint().catch((error) => showError(error.message)).then(route);
