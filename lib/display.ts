// Rich output for notebooks: plots, tables, HTML and Markdown, sent to the Jupyter frontend as
// display_data bundles. tslab's public `display` sends one MIME type per call, but a plot needs one
// output carrying both the plotly JSON and an HTML fallback, so we call the kernel's raw sender.
// Outside a tslab kernel (plain node, tests, scripts) every function prints a text summary instead.
import { randomBytes } from "crypto";

/** A MIME bundle: MIME type -> content (strings, or JSON for `application/*+json`). */
export type MimeBundle = Record<string, unknown>;

type RawSender = (msg: { data: MimeBundle; metadata: object; transient: { display_id?: string } }, update: boolean) => void;

/**
 * The kernel's display sender, or null outside a notebook. tslab keeps it in its `dist/jupyter.js`
 * module, which only a running kernel loads; looking it up in the module cache (instead of requiring
 * tslab) avoids loading tslab's TypeScript compiler in plain node and works with any tslab install.
 */
function rawSender(): RawSender | null {
  for (const [file, mod] of Object.entries(require.cache)) {
    if (/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(file)) {
      const exports = mod?.exports as TslabJupyter | undefined;
      const send = exports?.lastWriteDisplayData;
      if (typeof send === "function") {
        holdIdleWhileQueued(exports!);
        return send;
      }
    }
  }
  return null;
}

type TslabJupyter = {
  lastWriteDisplayData?: RawSender | null;
  ZmqServer?: { prototype: { publishStatus?: (status: string, parent: unknown) => void } };
};
let idleHeld = false;

/**
 * Makes the kernel's "idle" status wait until our queue is empty. A cell ends when the kernel publishes
 * "idle", and a client (nbclient, the Jupyter frontend) keeps only the outputs that arrive before it; on a
 * loaded machine a burst's tail could still be queued when the cell's code returned, and those displays
 * were dropped from the saved notebook without a word. tslab publishes every status through
 * `ZmqServer.prototype.publishStatus`, so deferring "idle" there covers every cell. Without that method (a
 * tslab we do not know) nothing is changed.
 */
function holdIdleWhileQueued(tslab: TslabJupyter): void {
  const proto = tslab.ZmqServer?.prototype;
  const publish = proto?.publishStatus;
  if (idleHeld || !proto || typeof publish !== "function") return;
  idleHeld = true;
  proto.publishStatus = function (this: unknown, status: string, parent: unknown) {
    if (status !== "idle" || queue.length === 0) return publish.call(this, status, parent);
    whenDrained.push(() => publish.call(this, status, parent));
  };
}

type Queued = { send: RawSender; msg: Parameters<RawSender>[0]; update: boolean };

/**
 * Our sends per event-loop turn. tslab sends every output through zeromq without waiting for it, and zeromq
 * takes ~500 immediate sends per turn of the event loop, then throws "Socket is busy writing" until the loop
 * turns. Past that point a display call threw into the experiment's code, and tslab's own print of the
 * resulting error was lost the same way, so the cell failed with an empty `<Error>:`. Capping our share of a
 * turn well below the limit leaves room for the kernel's own writes (errors, console output).
 */
const SENDS_PER_TURN = 64;
const queue: Queued[] = [];
/** Deferred "idle" statuses, published once the queue is empty (see holdIdleWhileQueued). */
const whenDrained: (() => void)[] = [];
let sentThisTurn = 0;
let turnScheduled = false;

/** A send refused because the socket is saturated (zeromq's EBUSY), as opposed to a real failure. */
function isBusy(e: unknown): boolean {
  return e instanceof Error && ((e as NodeJS.ErrnoException).code === "EBUSY" || /busy/i.test(e.message));
}

/** Sends queued messages in order while this turn's budget lasts; the rest wait for the next turn. */
function flush(): void {
  while (queue.length && sentThisTurn < SENDS_PER_TURN) {
    const { send, msg, update } = queue[0];
    try {
      send(msg, update);
    } catch (e) {
      if (!isBusy(e)) throw e;
      sentThisTurn = SENDS_PER_TURN; // saturated by others' writes: retry next turn
      break;
    }
    queue.shift();
    sentThisTurn++;
  }
  if (queue.length || sentThisTurn > 0) nextTurn();
  while (queue.length === 0 && whenDrained.length) {
    try {
      whenDrained[0]();
    } catch (e) {
      if (!isBusy(e)) throw e;
      nextTurn();
      break;
    }
    whenDrained.shift();
  }
}

function nextTurn(): void {
  if (turnScheduled) return;
  turnScheduled = true;
  setImmediate(() => {
    turnScheduled = false;
    sentThisTurn = 0;
    flush();
  });
}

/**
 * Sends `msg` through the kernel's sender `send` in order with everything queued before it; an update of a
 * live display still waiting in the queue is replaced by the newer one (only the latest state matters).
 */
function enqueue(send: RawSender, msg: Queued["msg"], update: boolean): void {
  const id = msg.transient.display_id;
  const stale = update && id !== undefined ? queue.findIndex((q) => q.update && q.msg.transient.display_id === id) : -1;
  if (stale >= 0) queue[stale] = { send, msg, update };
  else queue.push({ send, msg, update });
  flush();
}

/** A number in a table or sentence: `digits` decimals, "n/a" when not finite (an undefined statistic). */
export const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a");

/** An interval as "[lo, hi]" with `fmt`. */
export const fmtInterval = (ci: readonly [number, number], digits = 3) => `[${fmt(ci[0], digits)}, ${fmt(ci[1], digits)}]`;

/** True when running inside a tslab kernel that can show rich output. */
export function inNotebook(): boolean {
  return rawSender() !== null;
}

/** Sends one display_data output with every MIME type of `bundle`; false outside a notebook. */
export function displayBundle(bundle: MimeBundle): boolean {
  const send = rawSender();
  if (!send) return false;
  enqueue(send, { data: bundle, metadata: {}, transient: {} }, false);
  return true;
}

/** A display that is shown once and then replaced in place (update_display_data). */
export interface LiveDisplay {
  /** Shows `bundle`, replacing what this display showed before; false outside a notebook. */
  update(bundle: MimeBundle): boolean;
}

export function liveDisplay(): LiveDisplay {
  const id = randomBytes(8).toString("hex");
  let shown = false;
  return {
    update(bundle) {
      const send = rawSender();
      if (!send) return false;
      enqueue(send, { data: bundle, metadata: {}, transient: { display_id: id } }, shown);
      shown = true;
      return true;
    },
  };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that is safe inside an inline <script>: no `</script>`, `<!--` or JS-invalid line separators. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

export interface PlotlyFigure {
  data: object[];
  layout?: object;
  config?: object;
}

/**
 * Where the live notebook fetches plotly.js when the page has none: the classic notebook server that
 * scripts/jupyter.sh starts at the repository root serves files under `<base_url>files/`. Exported
 * HTML reports load plotly.js in the page head from their folder's assets/ (scripts/report-assets.ts), so
 * this path is not used there.
 */
const PLOTLY_SERVER_PATH = "files/node_modules/plotly.js-dist-min/plotly.min.js";

/** The HTML of one plot: a div and a script that draws it with the page's Plotly. */
export function plotHtml(figure: PlotlyFigure, id = `plot-${randomBytes(6).toString("hex")}`): string {
  const config = { responsive: true, ...figure.config };
  // plotly.js 3 sets window.Plotly even when require.js is on the page (it has no AMD branch).
  // One shared promise, so several plots in a live notebook load the bundle once.
  return `<div id="${id}" class="magic-plot" style="width:100%;min-height:420px"></div>
<script type="text/javascript">
(function () {
  var fig = ${scriptJson({ data: figure.data, layout: figure.layout ?? {}, config })};
  function draw() { window.Plotly.newPlot(${JSON.stringify(id)}, fig.data, fig.layout, fig.config); }
  if (window.Plotly) return draw();
  window.magicPlotlyLoad = window.magicPlotlyLoad || new Promise(function (resolve, reject) {
    var s = document.createElement("script");
    s.src = (document.body.getAttribute("data-base-url") || "/") + ${JSON.stringify(PLOTLY_SERVER_PATH)};
    s.onload = resolve;
    s.onerror = function () { reject(new Error("could not load plotly.js from " + s.src)); };
    document.head.appendChild(s);
  });
  window.magicPlotlyLoad.then(draw, function (e) { document.getElementById(${JSON.stringify(id)}).textContent = e.message; });
})();
</script>`;
}

function describeFigure(figure: PlotlyFigure): string {
  const layout = figure.layout as { title?: string | { text?: string } } | undefined;
  const title = typeof layout?.title === "string" ? layout.title : layout?.title?.text;
  const traces = figure.data.map((t) => {
    const tr = t as { type?: string; name?: string; x?: unknown[] };
    return `${tr.name ?? tr.type ?? "trace"}${Array.isArray(tr.x) ? ` (${tr.x.length} points)` : ""}`;
  });
  return `[plot${title ? ` "${title}"` : ""}: ${traces.join(", ")}]`;
}

/** Shows an interactive plotly figure: one output with the plotly JSON and an HTML rendering. */
export function showPlot(figure: PlotlyFigure): void {
  const bundle = {
    "application/vnd.plotly.v1+json": { data: figure.data, layout: figure.layout ?? {}, config: figure.config ?? {} },
    "text/html": plotHtml(figure),
    "text/plain": describeFigure(figure),
  };
  if (!displayBundle(bundle)) console.log(bundle["text/plain"]);
}

/** A danfo DataFrame, structurally (display does not load danfo). */
export interface FrameLike {
  columns: string[];
  values: unknown;
}

export type TableInput = FrameLike | Record<string, unknown>[];

function toRows(table: TableInput): { columns: string[]; rows: unknown[][] } {
  if (Array.isArray(table)) {
    const columns = [...new Set(table.flatMap((r) => Object.keys(r)))];
    return { columns, rows: table.map((r) => columns.map((c) => r[c])) };
  }
  const values = table.values as unknown[];
  // A one-column frame may report 1-D values; normalise to rows.
  const rows = values.map((v) => (Array.isArray(v) ? v : [v]));
  return { columns: table.columns, rows };
}

function cellText(v: unknown, digits: number): string {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(digits);
  return v === null || v === undefined ? "" : String(v);
}

export interface TableOptions {
  /** Significant digits of non-integer numbers (default 4). */
  digits?: number;
  /** Rows shown at most (default 200); a note says how many were left out. */
  maxRows?: number;
}

/** An HTML table and an aligned plain-text table for the same data. */
export function tableBundle(table: TableInput, options: TableOptions = {}): { html: string; text: string } {
  const digits = options.digits ?? 4;
  const { columns, rows } = toRows(table);
  const shown = rows.slice(0, options.maxRows ?? 200);
  const more = rows.length > shown.length ? `${rows.length - shown.length} more rows not shown (${rows.length} in all)` : "";
  const cells = shown.map((r) => r.map((v) => cellText(v, digits)));
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("");
  const body = cells
    .map((r) => `<tr>${r.map((v) => `<td>${escapeHtml(v)}</td>`).join("")}</tr>`)
    .join("\n");
  const html = `<table class="dataframe magic-table">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>` +
    (more ? `\n<p>${more}</p>` : "");
  const widths = columns.map((c, j) => Math.max(c.length, ...cells.map((r) => (r[j] ?? "").length)));
  const line = (r: string[]) => r.map((v, j) => (v ?? "").padStart(widths[j])).join("  ");
  const text = [line(columns), ...cells.map(line), ...(more ? [more] : [])].join("\n");
  return { html, text };
}

/** Shows a danfo DataFrame or an array of row objects as a table. */
export function showTable(table: TableInput, options: TableOptions = {}): void {
  const { html, text } = tableBundle(table, options);
  if (!displayBundle({ "text/html": html, "text/plain": text })) console.log(text);
}

export function showHtml(html: string, text = html.replace(/<[^>]*>/g, "")): void {
  if (!displayBundle({ "text/html": html, "text/plain": text })) console.log(text);
}

export function showMarkdown(md: string): void {
  if (!displayBundle({ "text/markdown": md, "text/plain": md })) console.log(md);
}
