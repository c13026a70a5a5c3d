/* tryggkarta web interface: a small front end over the documented HTTP API.
 *
 * Every form is generated from /openapi.json (the routes' own parameter definitions), so
 * the interface offers exactly what the API offers. The token lives in sessionStorage
 * only and is sent as the bearer token. No library but the vendored Leaflet; the DOM is
 * built with textContent only (no HTML from data).
 */
(function () {
  "use strict";

  const ALL = JSON.parse(document.getElementById("messages").textContent);
  const LANG = document.documentElement.lang === "en" ? "en" : "sv";
  const M = ALL[LANG];
  const LEGENDS = JSON.parse(document.getElementById("legends").textContent);
  const MAX_ROWS = 2000;            // rows drawn in the table (all are sorted and downloaded)
  const MAX_SVG = 2000;             // more features than this are drawn on a canvas
  const TOKEN_KEY = "tryggkarta.token";
  const state = { token: null, role: null, spec: null, kinds: [], datasets: [],
                  result: null, map: null, running: null };

  // ------------------------------------------------------------------ helpers

  function tr(key, values) {
    let s = M[key];
    if (s === undefined) s = ALL.sv[key] !== undefined && LANG === "sv" ? ALL.sv[key] : key;
    if (values) {
      for (const [k, v] of Object.entries(values)) s = s.split("{" + k + "}").join(String(v));
    }
    return s;
  }
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") e.textContent = v;
      else if (k === "dataset") Object.assign(e.dataset, v);
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  const $ = (id) => document.getElementById(id);
  function paramLabel(name, fallback) {
    return (M.params && M.params[name]) || (LANG === "sv" && ALL.sv.params[name]) ||
      fallback || name;
  }
  function kindLabel(kind) { return (M.kinds && M.kinds[kind]) || kind; }
  function routeLabel(path, op) {
    // a route without a label of its own: the API's summary in English, its path in Swedish
    return (M.routes && M.routes[path]) || (LANG === "en" && op.summary) || path;
  }
  function numberText(v) {
    if (typeof v !== "number" || !isFinite(v)) return v === null || v === undefined ? "" : String(v);
    return v.toLocaleString(LANG === "sv" ? "sv-SE" : "en-GB", { maximumFractionDigits: 6 });
  }

  async function api(path, opts) {
    opts = opts || {};
    const headers = Object.assign({}, opts.headers || {});
    if (state.token) headers.Authorization = "Bearer " + state.token;
    return fetch(path, Object.assign({}, opts, { headers: headers }));
  }
  async function errorLines(resp) {
    let body = null;
    try { body = await resp.json(); } catch (e) { /* not JSON */ }
    const lines = [];
    const problems = [];
    if (body && typeof body.detail === "string") lines.push(body.detail.split("\n")[0]);
    else if (body && Array.isArray(body.detail)) {
      for (const d of body.detail) {
        const where = Array.isArray(d.loc) ? d.loc.filter((x) => x !== "query" && x !== "body").join(".") : "";
        lines.push((where ? where + ": " : "") + d.msg);
      }
    } else lines.push(resp.status + " " + resp.statusText);
    if (body && Array.isArray(body.problems)) problems.push(...body.problems);
    return { lines: lines, problems: problems };
  }
  function problemText(p) {
    return p.index === null || p.index === undefined
      ? tr("problem_noindex", { source: p.source, reason: p.reason })
      : tr("problem", { source: p.source, index: p.index, reason: p.reason });
  }

  // ------------------------------------------------------------------ OpenAPI forms

  function resolve(schema) {
    let s = schema || {};
    let guard = 0;
    while (s.$ref && guard++ < 20) {
      const parts = s.$ref.replace(/^#\//, "").split("/");
      let t = state.spec;
      for (const p of parts) t = t[p];
      s = Object.assign({}, t, s, { $ref: undefined });
      delete s.$ref;
    }
    if (s.anyOf) {
      const real = s.anyOf.map(resolve).filter((x) => x.type !== "null");
      const nullable = real.length < s.anyOf.length;
      const base = real.length === 1 ? real[0] : { type: "string" };
      s = Object.assign({}, base, s, { anyOf: undefined, nullable: nullable });
      delete s.anyOf;
    }
    if (s.allOf && s.allOf.length === 1) {
      s = Object.assign({}, resolve(s.allOf[0]), s);
      delete s.allOf;
    }
    return s;
  }

  /* One form field from a parameter (name, schema, required, description). */
  function makeField(prefix, name, schema, required, description, testid) {
    const s = resolve(schema);
    const id = prefix + "-" + name;
    const hintId = id + "-hint";
    const hint = LANG === "en" && description ? description : name + (required ? "" : " (" + tr("optional") + ")");
    const label = el("label", { for: id, text: paramLabel(name, description ? null : name) });
    const common = { id: id, name: name, "aria-describedby": hintId, "data-testid": testid || null,
                     required: required || null };
    let input;
    let get;
    if (s.format === "binary" || s.contentMediaType) {
      input = el("input", Object.assign({ type: "file" }, common));
      get = () => (input.files && input.files[0]) || null;
    } else if (state.kinds.includes(name) || /^Stored\b/.test(description || "")) {
      // a stored dataset: of this kind (or of any kind when there is none of it)
      input = el("select", Object.assign({}, common, { dataset: { kind: name } }));
      get = () => input.value || null;
      fillDatasetSelect(input, !required);
    } else if (s.enum) {
      input = el("select", common);
      if (!required && s.default === undefined) input.append(el("option", { value: "", text: tr("none_selected") }));
      for (const v of s.enum) {
        const text = name === "kind" ? kindLabel(v) + " (" + v + ")" : String(v);
        input.append(el("option", { value: v, text: text, selected: s.default === v || null }));
      }
      get = () => input.value || null;
    } else if (s.type === "boolean") {
      input = el("input", Object.assign({ type: "checkbox" }, common, { required: null }));
      input.checked = s.default === true;
      get = () => (input.checked ? "true" : "false");
      const hintEl = el("span", { id: hintId, class: "hint", text: hint });
      return { wrap: el("div", { class: "field check" }, input, label, hintEl), get: get, name: name, input: input };
    } else if (s.type === "number" || s.type === "integer") {
      const attrs = { type: "number", step: s.type === "integer" ? "1" : "any" };
      const lo = s.minimum !== undefined ? s.minimum : s.exclusiveMinimum;
      const hi = s.maximum !== undefined ? s.maximum : s.exclusiveMaximum;
      if (lo !== undefined) attrs.min = lo;
      if (hi !== undefined) attrs.max = hi;
      if (s.default !== undefined && s.default !== null) attrs.value = s.default;
      input = el("input", Object.assign(attrs, common));
      get = () => (input.value === "" ? null : input.value);
    } else {
      const attrs = { type: "text" };
      if (s.default !== undefined && s.default !== null) attrs.value = s.default;
      if (s.pattern) attrs.pattern = s.pattern;
      input = el("input", Object.assign(attrs, common));
      get = () => (input.value === "" ? null : input.value);
    }
    const hintEl = el("p", { id: hintId, class: "hint", text: hint });
    return { wrap: el("div", { class: "field" }, label, input, hintEl), get: get, name: name, input: input };
  }

  function fillDatasetSelect(select, optional) {
    const kind = select.dataset.kind;
    const keep = select.value;
    select.textContent = "";
    if (optional) select.append(el("option", { value: "", text: tr("none_selected") }));
    const own = state.datasets.filter((d) => d.kind === kind);
    const list = own.length ? own : state.datasets;
    for (const d of list) {
      select.append(el("option", { value: d.name, text: d.name + " (" + kindLabel(d.kind) + ", v" + d.version + ")" }));
    }
    if (keep && [...select.options].some((o) => o.value === keep)) select.value = keep;
  }
  function refreshDatasetSelects() {
    for (const s of document.querySelectorAll("select[data-kind]")) {
      fillDatasetSelect(s, !s.required);
    }
  }

  function queryParams(op) {
    return (op.parameters || []).filter((p) => p.in === "query");
  }
  function formatEnum(op) {
    const f = queryParams(op).find((p) => p.name === "format");
    return f ? resolve(f.schema).enum || [] : [];
  }
  function responseTypes(op) {
    const ok = (op.responses || {})["200"] || {};
    return Object.keys(ok.content || {});
  }

  // ------------------------------------------------------------------ sign in

  async function signIn(token) {
    state.token = token;
    const resp = await api("/session");
    if (!resp.ok) {
      state.token = null;
      sessionStorage.removeItem(TOKEN_KEY);
      $("signin-status").textContent = tr("bad_token");
      $("token").focus();
      return;
    }
    const who = await resp.json();
    sessionStorage.setItem(TOKEN_KEY, token);
    state.role = who.role;
    $("signin-status").textContent = "";
    $("signin-form").hidden = true;
    $("session").hidden = false;
    $("whoami").textContent = tr("signed_in_as", {
      label: who.label, role: who.role === "planner" ? tr("role_planner") : tr("role_reviewer") });
    if (who.role !== "planner") {
      // a reviewer reads only: the controls that change data are not there at all
      for (const e of document.querySelectorAll(".planner-only")) e.remove();
    }
    const specResp = await fetch("/openapi.json");
    state.spec = await specResp.json();
    const up = uploadSchema();
    state.kinds = up && up.properties && up.properties.kind ? resolve(up.properties.kind).enum || [] : [];
    if (!state.kinds.length) state.kinds = Object.keys(M.kinds);
    await loadDatasets();
    if (who.role === "planner") buildUpload();
    buildAnalyses();
    buildDocuments();
    $("app").hidden = false;      // shown once every part is built
    $("main").focus();
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    window.location.reload();
  }

  // ------------------------------------------------------------------ datasets

  async function loadDatasets() {
    const resp = await api("/datasets");
    const body = $("datasets").querySelector("tbody");
    body.textContent = "";
    if (!resp.ok) {
      $("datasets-status").textContent = (await errorLines(resp)).lines.join(" ");
      return;
    }
    const data = await resp.json();
    state.datasets = Array.isArray(data) ? data : data.datasets || [];
    $("datasets-status").textContent = state.datasets.length ? "" : tr("no_datasets");
    for (const d of state.datasets) {
      const row = el("tr", { "data-name": d.name },
        el("th", { scope: "row", text: d.name }),
        el("td", { text: kindLabel(d.kind) + " (" + d.kind + ")" }),
        el("td", { class: "num", text: d.version }),
        el("td", { class: "num", text: numberText(d.n_features) }),
        el("td", { text: d.stored_at || "" }),
        el("td", { text: d.source || "" }));
      if (state.role === "planner") {
        row.append(el("td", {}, el("button", {
          type: "button", class: "secondary", "data-testid": "delete",
          "aria-label": tr("delete_named", { name: d.name }), text: tr("delete"),
          onclick: () => deleteDataset(d.name) })));
      }
      body.append(row);
    }
    refreshDatasetSelects();
  }

  async function deleteDataset(name) {
    if (!window.confirm(tr("confirm_delete", { name: name }))) return;
    const resp = await api("/datasets/" + encodeURIComponent(name), { method: "DELETE" });
    $("datasets-status").textContent = resp.ok ? tr("deleted", { name: name })
      : (await errorLines(resp)).lines.join(" ");
    await loadDatasets();
  }

  // ------------------------------------------------------------------ upload

  function uploadSchema() {
    const op = state.spec.paths["/datasets"] && state.spec.paths["/datasets"].post;
    if (!op || !op.requestBody) return null;
    const content = op.requestBody.content["multipart/form-data"];
    return content ? resolve(content.schema) : null;
  }

  let uploadFields = [];
  function buildUpload() {
    const s = uploadSchema();
    const box = $("upload-fields");
    box.textContent = "";
    if (!s) return;
    const required = s.required || [];
    uploadFields = Object.entries(s.properties).map(([name, prop]) =>
      makeField("upload", name, prop, required.includes(name), prop.description, "upload-" + name));
    for (const f of uploadFields) {
      box.append(f.wrap);
    }
    $("upload-form").addEventListener("submit", upload);
  }

  async function upload(ev) {
    ev.preventDefault();
    const errors = $("upload-errors");
    errors.textContent = "";
    $("upload-status").textContent = tr("uploading");
    const form = new FormData();
    for (const f of uploadFields) {
      const v = f.get();
      if (v !== null && v !== "") form.append(f.name, v);
    }
    const resp = await api("/datasets", { method: "POST", body: form });
    if (resp.ok) {
      const body = await resp.json();
      const d = body.dataset || {};
      $("upload-status").textContent = tr("uploaded", { name: d.name, version: d.version, n: numberText(d.n_features) });
      if (body.problems && body.problems.length) {
        errors.append(el("p", { text: tr("skipped") }),
          el("ul", {}, ...body.problems.map((p) => el("li", { text: problemText(p) }))));
      }
      await loadDatasets();
      return;
    }
    const err = await errorLines(resp);
    $("upload-status").textContent = "";
    errors.append(el("p", { text: tr("upload_refused") + " " + err.lines.join(" ") }));
    if (err.problems.length) {
      errors.append(el("ul", {}, ...err.problems.map((p) => el("li", { text: problemText(p) }))));
    }
    errors.focus();
  }

  // ------------------------------------------------------------------ analyses

  let analysisFields = [];
  function analysisRoutes() {
    return Object.entries(state.spec.paths)
      .filter(([path, item]) => path.startsWith("/analyses/") && item.get)
      .map(([path, item]) => ({ path: path, op: item.get }));
  }

  function buildAnalyses() {
    const select = $("analysis");
    select.textContent = "";
    for (const r of analysisRoutes()) {
      select.append(el("option", { value: r.path, text: routeLabel(r.path, r.op) }));
    }
    select.addEventListener("change", showAnalysisForm);
    $("analysis-form").addEventListener("submit", runAnalysis);
    $("cancel").addEventListener("click", () => state.running && state.running.abort());
    $("download-csv").addEventListener("click", () => download("csv"));
    $("download-gpkg").addEventListener("click", () => download("gpkg"));
    showAnalysisForm();
  }

  function currentRoute() {
    const path = $("analysis").value;
    return analysisRoutes().find((r) => r.path === path);
  }

  function showAnalysisForm() {
    const r = currentRoute();
    const box = $("analysis-fields");
    box.textContent = "";
    if (!r) return;
    $("analysis-summary").textContent = LANG === "en" ? r.op.summary || "" : r.path;
    analysisFields = queryParams(r.op).filter((p) => p.name !== "format").map((p) =>
      makeField("opt", p.name, p.schema, p.required, p.description || resolve(p.schema).description));
    for (const f of analysisFields) box.append(f.wrap);
  }

  function queryString(fields, extra) {
    const q = new URLSearchParams();
    for (const f of fields) {
      const v = f.get();
      if (v === null || v === "") continue;
      q.append(f.name, v);
    }
    for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
    return q.toString();
  }

  function resultFormat(op) {
    const fmts = formatEnum(op);
    if (fmts.includes("geojson")) return "geojson";
    if (fmts.includes("csv")) return "csv";
    return null;
  }

  async function runAnalysis(ev) {
    ev.preventDefault();
    const r = currentRoute();
    if (!r) return;
    if (!$("analysis-form").reportValidity()) return;
    const fmt = resultFormat(r.op);
    const qs = queryString(analysisFields, fmt ? { format: fmt } : {});
    const url = r.path + (qs ? "?" + qs : "");
    const ctrl = new AbortController();
    state.running = ctrl;
    const started = Date.now();
    $("run-error").textContent = "";
    $("progress").hidden = false;
    $("cancel").hidden = false;
    $("run").disabled = true;
    const tick = () => { $("run-status").textContent = tr("running", { s: Math.round((Date.now() - started) / 1000) }); };
    tick();
    const timer = setInterval(tick, 1000);
    try {
      const resp = await api(url, { signal: ctrl.signal });
      if (!resp.ok) {
        const err = await errorLines(resp);
        $("run-status").textContent = "";
        $("run-error").textContent = tr("failed") + " " + err.lines.join(" ") +
          (err.problems.length ? " " + err.problems.map(problemText).join("; ") : "");
        return;
      }
      const type = resp.headers.get("content-type") || "";
      const text = await resp.text();
      let rows;
      let geo = null;
      if (type.includes("json")) {
        const body = JSON.parse(text);
        if (body && body.type === "FeatureCollection") {
          geo = body;
          rows = body.features.map((f) => Object.assign({}, f.properties));
        } else {
          rows = Array.isArray(body) ? body : body.rows || body.sites || [body];
        }
      } else {
        rows = parseCsv(text);
      }
      state.result = { route: r, params: queryString(analysisFields), rows: rows, geo: geo };
      showResult();
      $("run-status").textContent = tr("done", { s: Math.round((Date.now() - started) / 1000), n: rows.length });
    } catch (e) {
      $("run-status").textContent = e.name === "AbortError" ? tr("cancelled") : "";
      if (e.name !== "AbortError") $("run-error").textContent = tr("failed") + " " + e.message;
    } finally {
      clearInterval(timer);
      state.running = null;
      $("progress").hidden = true;
      $("cancel").hidden = true;
      $("run").disabled = false;
    }
  }

  // ------------------------------------------------------------------ result

  function parseCsv(text) {
    const rows = [];
    let row = [];
    let cell = "";
    let quoted = false;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (quoted) {
        if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; }
        else if (ch === '"') quoted = false;
        else cell += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ",") { row.push(cell); cell = ""; }
      else if (ch === "\n" || ch === "\r") {
        if (ch === "\r" && text[i + 1] === "\n") i++;
        row.push(cell); cell = "";
        rows.push(row); row = [];
      } else cell += ch;
    }
    if (cell !== "" || row.length) { row.push(cell); rows.push(row); }
    const head = rows.shift() || [];
    return rows.filter((r) => r.length > 1 || r[0] !== "").map((r) => {
      const o = {};
      head.forEach((h, j) => {
        const v = r[j];
        o[h] = v !== undefined && v !== "" && !isNaN(Number(v)) ? Number(v) : v;
      });
      return o;
    });
  }

  function showResult() {
    const res = state.result;
    $("no-result").hidden = true;
    const table = $("result-table");
    const cols = [];
    for (const row of res.rows) for (const k of Object.keys(row)) if (!cols.includes(k)) cols.push(k);
    table.querySelector("caption").textContent = tr("result_caption", { analysis: routeLabel(res.route.path, res.route.op) });
    const head = table.querySelector("thead");
    head.textContent = "";
    const tr_ = el("tr");
    cols.forEach((c) => {
      tr_.append(el("th", { scope: "col", "aria-sort": "none" },
        el("button", { type: "button", text: c, onclick: () => sortBy(c) })));
    });
    head.append(tr_);
    res.cols = cols;
    res.sort = null;
    fillRows();
    const fmts = formatEnum(res.route.op);
    $("download-csv").disabled = !(fmts.includes("csv") || fmts.length === 0);
    $("download-gpkg").disabled = !fmts.includes("gpkg");
    $("download-gpkg").title = fmts.includes("gpkg") ? "" : tr("download_unavailable");
    drawMap();
  }

  function fillRows() {
    const res = state.result;
    const body = $("result-table").querySelector("tbody");
    body.textContent = "";
    $("result-more").textContent = res.rows.length > MAX_ROWS
      ? tr("rows_shown", { shown: numberText(MAX_ROWS), n: numberText(res.rows.length) }) : "";
    for (const row of res.rows.slice(0, MAX_ROWS)) {
      body.append(el("tr", {}, ...res.cols.map((c) => {
        const v = row[c];
        const isNum = typeof v === "number";
        return el("td", { class: isNum ? "num" : null,
          text: v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v) });
      })));
    }
  }

  function sortBy(col) {
    const res = state.result;
    const dir = res.sort && res.sort.col === col && res.sort.dir === "ascending" ? "descending" : "ascending";
    res.sort = { col: col, dir: dir };
    const sign = dir === "ascending" ? 1 : -1;
    res.rows.sort((a, b) => {
      const x = a[col];
      const y = b[col];
      if (x === y) return 0;
      if (x === null || x === undefined || x === "") return 1;
      if (y === null || y === undefined || y === "") return -1;
      if (typeof x === "number" && typeof y === "number") return sign * (x - y);
      return sign * String(x).localeCompare(String(y), LANG);
    });
    for (const th of $("result-table").querySelectorAll("thead th")) {
      th.setAttribute("aria-sort", th.textContent === col ? dir : "none");
    }
    fillRows();
  }

  /* SWEREF 99 TM (EPSG:3006) to WGS84 lon/lat: Gauss–Krüger inverse (Lantmäteriet). */
  function sweref99tmToWgs84(x, y) {
    const a = 6378137.0, f = 1 / 298.257222101, k0 = 0.9996, lon0 = 15.0 * Math.PI / 180;
    const fn = 500000.0;
    const e2 = f * (2 - f), n = f / (2 - f), ah = a / (1 + n) * (1 + n * n / 4 + n ** 4 / 64);
    const d1 = n / 2 - 2 * n * n / 3 + 37 * n ** 3 / 96 - n ** 4 / 360;
    const d2 = n * n / 48 + n ** 3 / 15 - 437 * n ** 4 / 1440;
    const d3 = 17 * n ** 3 / 480 - 37 * n ** 4 / 840;
    const d4 = 4397 * n ** 4 / 161280;
    const xi = y / (k0 * ah), eta = (x - fn) / (k0 * ah);
    const xp = xi - d1 * Math.sin(2 * xi) * Math.cosh(2 * eta) - d2 * Math.sin(4 * xi) * Math.cosh(4 * eta)
      - d3 * Math.sin(6 * xi) * Math.cosh(6 * eta) - d4 * Math.sin(8 * xi) * Math.cosh(8 * eta);
    const ep = eta - d1 * Math.cos(2 * xi) * Math.sinh(2 * eta) - d2 * Math.cos(4 * xi) * Math.sinh(4 * eta)
      - d3 * Math.cos(6 * xi) * Math.sinh(6 * eta) - d4 * Math.cos(8 * xi) * Math.sinh(8 * eta);
    const phiStar = Math.asin(Math.sin(xp) / Math.cosh(ep));
    const dlon = Math.atan(Math.sinh(ep) / Math.cos(xp));
    const A = e2 + e2 ** 2 + e2 ** 3 + e2 ** 4;
    const B = -(7 * e2 ** 2 + 17 * e2 ** 3 + 30 * e2 ** 4) / 6;
    const C = (224 * e2 ** 3 + 889 * e2 ** 4) / 120;
    const D = -(4279 * e2 ** 4) / 1260;
    const s = Math.sin(phiStar);
    const phi = phiStar + s * Math.cos(phiStar) * (A + B * s * s + C * s ** 4 + D * s ** 6);
    return [(lon0 + dlon) * 180 / Math.PI, phi * 180 / Math.PI];
  }

  function drawMap() {
    const res = state.result;
    const box = $("result-map");
    if (state.map) { state.map.remove(); state.map = null; }
    box.textContent = "";
    let features = [];
    if (res.geo) features = res.geo.features.filter((f) => f.geometry);
    else if (res.rows.length && "x" in res.rows[0] && "y" in res.rows[0]) {
      features = res.rows.filter((r) => typeof r.x === "number" && typeof r.y === "number").map((r) => ({
        type: "Feature", properties: r,
        geometry: { type: "Point", coordinates: sweref99tmToWgs84(r.x, r.y) } }));
    }
    if (!features.length || typeof L === "undefined") {
      box.append(el("p", { text: tr("no_geometry") }));
      return;
    }
    // a column with a legend (e.g. the emerging hot spot pattern) colours the features
    const legendCol = Object.keys(LEGENDS).find((c) => features.some((f) => f.properties && c in f.properties));
    const legend = legendCol ? LEGENDS[legendCol] : null;
    const colourOf = {};
    if (legend) {
      for (const e of legend) colourOf[e.value] = e.colour;
      features = features.filter((f) => f.properties[legendCol] !== "none");
    }
    showLegend(legend, legendCol, features);
    const fill = (f) => (legend ? colourOf[f.properties[legendCol]] || "#d9d9d9" : "#ffbf47");
    const map = L.map(box, { keyboard: true, attributionControl: false,
                             preferCanvas: features.length > MAX_SVG });
    state.map = map;
    const layer = L.geoJSON({ type: "FeatureCollection", features: features }, {
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 6, color: "#004b87", weight: 2,
                                                      fillColor: fill(f), fillOpacity: 0.9 }),
      style: (f) => (legend ? { color: fill(f), weight: 1, fillColor: fill(f), fillOpacity: 0.75 }
        : { color: "#004b87", weight: 2, fillColor: "#ffbf47", fillOpacity: 0.35 }),
      onEachFeature: (f, lyr) => {
        const p = f.properties || {};
        const name = p.id !== undefined ? String(p.id) : p.name !== undefined ? String(p.name) : "";
        const lines = Object.entries(p).slice(0, 12).map(([k, v]) => k + ": " + (typeof v === "object" ? JSON.stringify(v) : v));
        const div = el("div", {}, ...lines.map((t) => el("div", { text: t })));
        lyr.bindPopup(div);
        if (name) lyr.bindTooltip(name);
      },
    }).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    const b = layer.getBounds();
    if (b.isValid()) map.fitBounds(b, { padding: [20, 20], maxZoom: 17 });
    else map.setView([59.33, 18.06], 12);
  }

  /* The legend beside the map: one row per value present, with its colour and label. */
  function showLegend(legend, col, features) {
    const box = $("map-legend");
    box.textContent = "";
    if (!legend) return;
    const present = new Set(state.result.rows.map((r) => r[col]));
    const list = el("ul", { class: "legend" });
    for (const e of legend) {
      if (!present.has(e.value)) continue;
      const n = state.result.rows.filter((r) => r[col] === e.value).length;
      list.append(el("li", {}, el("span", { class: "swatch", style: "background:" + e.colour,
                                            "aria-hidden": "true" }),
                     el("span", { text: e.label + " (" + numberText(n) + ")" })));
    }
    box.append(el("h3", { text: tr("legend") }), list);
  }

  async function download(fmt) {
    const res = state.result;
    if (!res) return;
    const q = new URLSearchParams(res.params);
    if (formatEnum(res.route.op).length) q.set("format", fmt);
    $("download-status").textContent = "";
    const resp = await api(res.route.path + "?" + q.toString());
    if (!resp.ok) {
      $("download-status").textContent = (await errorLines(resp)).lines.join(" ");
      return;
    }
    const blob = await resp.blob();
    const name = filenameOf(resp) || res.route.path.split("/").pop() + "." + fmt;
    saveBlob(blob, name);
  }

  function filenameOf(resp) {
    const cd = resp.headers.get("content-disposition") || "";
    const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
    return m ? decodeURIComponent(m[1]) : null;
  }
  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  // ------------------------------------------------------------------ documents

  function documentRoutes() {
    return Object.entries(state.spec.paths)
      .filter(([path, item]) => item.get && path !== "/" &&
        (path.startsWith("/exports/") || path.startsWith("/documents/") ||
         responseTypes(item.get).includes("text/html") || responseTypes(item.get).includes("application/pdf")))
      .filter(([path]) => !path.startsWith("/analyses/") && !path.includes("{"))
      .map(([path, item]) => ({ path: path, op: item.get }));
  }

  function buildDocuments() {
    const list = $("documents");
    list.textContent = "";
    documentRoutes().forEach((r, i) => {
      const fields = queryParams(r.op).map((p) =>
        makeField("doc" + i, p.name, p.schema, p.required, p.description || resolve(p.schema).description));
      const status = el("p", { role: "status" });
      const form = el("form", { "aria-labelledby": "doc" + i + "-h" },
        el("div", { class: "fields" }, ...fields.map((f) => f.wrap)));
      async function fetchDoc(save) {
        if (!form.reportValidity()) return;
        status.textContent = tr("running", { s: 0 });
        const qs = queryString(fields);
        const resp = await api(r.path + (qs ? "?" + qs : ""));
        if (!resp.ok) {
          const err = await errorLines(resp);
          status.textContent = tr("failed") + " " + err.lines.join(" ");
          return;
        }
        status.textContent = "";
        const blob = await resp.blob();
        if (save) saveBlob(blob, filenameOf(resp) || r.path.split("/").pop() + ".html");
        else window.open(URL.createObjectURL(blob), "_blank", "noopener");
      }
      form.addEventListener("submit", (ev) => { ev.preventDefault(); fetchDoc(false); });
      form.append(el("div", { class: "row" },
        el("button", { type: "submit", text: tr("open") }),
        el("button", { type: "button", class: "secondary", text: tr("download"), onclick: () => fetchDoc(true) })));
      list.append(el("li", { "data-path": r.path },
        el("h3", { id: "doc" + i + "-h", text: routeLabel(r.path, r.op) }), form, status));
    });
  }

  // for tests and scripts: the coordinate conversion the map uses for CSV results
  window.tryggkartaWeb = { sweref99tmToWgs84: sweref99tmToWgs84 };

  // ------------------------------------------------------------------ start

  $("signin-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    signIn($("token").value.trim());
  });
  $("sign-out").addEventListener("click", signOut);
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved);
})();
