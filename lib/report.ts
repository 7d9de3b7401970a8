// What a notebook tells the report index: its key result and the backend it ran on. scripts/reproduce.ts
// sets MAGIC_REPORT_META to a JSON file per notebook; these helpers merge into it. Without that variable
// (an interactive session) they only display.
import { backendInfo } from "./backend";
import { readJsonIfExists, writeJsonAtomic } from "./json-file";
import { escapeHtml, showHtml } from "./display";

export interface NotebookMeta {
  keyResult?: string;
  backend?: string;
  backendSummary?: string;
  /** What the notebook loaded from committed tables under data/ and what it recomputed to check them, one line each. */
  provenance?: string[];
}

export const META_ENV = "MAGIC_REPORT_META";

function mergeMeta(update: NotebookMeta, env: NodeJS.ProcessEnv): void {
  const file = env[META_ENV];
  if (!file) return;
  // No file yet: the first write of this notebook's run.
  writeJsonAtomic(file, { ...(readJsonIfExists<NotebookMeta>(file) ?? {}), ...update }, 2);
}

/** Adds one line to the notebook's provenance (shown on the index page): what was loaded, what was recomputed. */
export function recordProvenance(line: string, env: NodeJS.ProcessEnv = process.env): void {
  const file = env[META_ENV];
  const earlier = file ? readJsonIfExists<NotebookMeta>(file)?.provenance ?? [] : [];
  mergeMeta({ provenance: [...earlier, line] }, env);
}

/** Records the backend chosen by `initBackend` (call after it). */
export function recordBackend(env: NodeJS.ProcessEnv = process.env): void {
  const info = backendInfo();
  if (!info) throw new Error("recordBackend: call initBackend() first");
  mergeMeta({ backend: info.name, backendSummary: info.summary }, env);
}

/** Shows and records the notebook's one-line key result; also records the backend if one was chosen. */
export function keyResult(text: string, env: NodeJS.ProcessEnv = process.env): void {
  const info = backendInfo();
  mergeMeta({ keyResult: text, ...(info ? { backend: info.name, backendSummary: info.summary } : {}) }, env);
  showHtml(`<p><b>Key result:</b> ${escapeHtml(text)}</p>`, `Key result: ${text}`);
}
