// A progress bar with ETA for long loops, in three renderings chosen once per bar:
// - in a tslab notebook: one output updated in place (update_display_data), at most 2 updates/s;
// - in a terminal: cli-progress on stderr;
// - otherwise (CI logs, redirected output): a plain log line every `logEverySeconds`, and one at the end.
import { SingleBar } from "cli-progress";
import { escapeHtml, inNotebook, liveDisplay } from "./display";

export type ProgressExtras = Record<string, number | string>;

export interface Progress {
  /** Sets the number of finished steps (absolute, not an increment) and optional values to show. */
  update(done: number, extras?: ProgressExtras): void;
  /** Shows the final state; the bar is unusable afterwards. */
  stop(): void;
}

export interface ProgressOptions {
  total: number;
  label?: string;
  /** Seconds between log lines when output is neither a notebook nor a terminal. */
  logEverySeconds?: number;
  /** Overrides the detected rendering (tests). */
  mode?: "notebook" | "terminal" | "log";
  /** Clock in milliseconds (tests). */
  now?: () => number;
  /** Where log lines go (tests); default stderr. */
  write?: (line: string) => void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

function formatExtras(extras: ProgressExtras): string {
  return Object.entries(extras)
    .map(([k, v]) => `${k}=${typeof v === "number" && !Number.isInteger(v) ? v.toPrecision(4) : v}`)
    .join(" ");
}

export interface ProgressState {
  label: string;
  done: number;
  total: number;
  elapsed: number;
  extras: ProgressExtras;
}

/** Remaining seconds by linear extrapolation; NaN before the first finished step. */
export function eta(s: ProgressState): number {
  return s.done > 0 ? (s.elapsed / s.done) * Math.max(0, s.total - s.done) : NaN;
}

/** One line: `label 45% 450/1000 elapsed 1m10s ETA 1m26s loss=3.200`. */
export function progressLine(s: ProgressState, finished = false): string {
  const pct = s.total > 0 ? Math.floor((100 * s.done) / s.total) : 100;
  const time = finished ? `in ${formatDuration(s.elapsed)}` : `elapsed ${formatDuration(s.elapsed)} ETA ${formatDuration(eta(s))}`;
  const extras = formatExtras(s.extras);
  return `${s.label ? `${s.label} ` : ""}${pct}% ${s.done}/${s.total} ${time}${extras ? ` ${extras}` : ""}`;
}

function progressHtml(s: ProgressState, finished: boolean): string {
  const value = Math.min(s.done, s.total);
  return `<div style="font-family:monospace"><progress value="${value}" max="${s.total}" style="width:300px;vertical-align:middle"></progress> ${escapeHtml(progressLine(s, finished))}</div>`;
}

function detectMode(): "notebook" | "terminal" | "log" {
  if (inNotebook()) return "notebook";
  return process.stderr.isTTY ? "terminal" : "log";
}

/** Starts a progress bar for `total` steps. */
export function progress(options: ProgressOptions): Progress {
  const now = options.now ?? (() => Date.now());
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const mode = options.mode ?? detectMode();
  const start = now();
  const state: ProgressState = { label: options.label ?? "", done: 0, total: options.total, elapsed: 0, extras: {} };
  let lastShown = -Infinity;
  let stopped = false;

  if (mode === "terminal") {
    const bar = new SingleBar({
      format: `${state.label ? `${state.label} ` : ""}[{bar}] {percentage}% {value}/{total} ETA {eta_formatted} {extras}`,
      hideCursor: true,
      etaBuffer: 50,
    });
    bar.start(options.total, 0, { extras: "" });
    return {
      update(done, extras = {}) {
        if (!stopped) bar.update(done, { extras: formatExtras(extras) });
      },
      stop() {
        if (!stopped) bar.stop();
        stopped = true;
      },
    };
  }

  const display = mode === "notebook" ? liveDisplay() : null;
  const minGap = display ? 500 : 1000 * (options.logEverySeconds ?? 10);
  const show = (finished: boolean) => {
    if (display) display.update({ "text/html": progressHtml(state, finished), "text/plain": progressLine(state, finished) });
    else write(progressLine(state, finished));
  };
  if (display) show(false);
  return {
    update(done, extras) {
      if (stopped) return;
      const t = now();
      state.done = done;
      state.elapsed = (t - start) / 1000;
      if (extras) state.extras = extras;
      if (t - lastShown >= minGap) {
        lastShown = t;
        show(false);
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      state.elapsed = (now() - start) / 1000;
      show(true);
    },
  };
}
