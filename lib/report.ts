// What a notebook tells the report index: its key result and the backend it ran on. scripts/reproduce.ts
// sets MAGIC_REPORT_META to a JSON file per notebook; these helpers merge into it. Without that variable
// (an interactive session) they only display.
import * as fs from "fs";
import { backendInfo } from "./backend";
import { escapeHtml, showHtml } from "./display";

export interface NotebookMeta {
  keyResult?: string;
  backend?: string;
  backendSummary?: string;
}

export const META_ENV = "MAGIC_REPORT_META";

function readMeta(file: string): NotebookMeta {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as NotebookMeta;
  } catch {
    return {}; // first write of this run
  }
}

function mergeMeta(update: NotebookMeta, env: NodeJS.ProcessEnv): void {
  const file = env[META_ENV];
  if (!file) return;
  fs.writeFileSync(file, `${JSON.stringify({ ...readMeta(file), ...update }, null, 2)}\n`);
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
