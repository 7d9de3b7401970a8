// The local pool: `size` worker processes (scripts/job-worker.ts, each with one OpenBLAS thread), each running
// one job at a time; a job goes to the first free process. Used by the local builds (one process per core) and
// by a queue worker (one process per unit of --concurrency), so both run jobs the same way. A process that
// dies fails its job (the caller decides: a local build stops, the queue retries) and is replaced for the next.
import { fork, type ChildProcess } from "node:child_process";
import { UserError } from "../errors";
import { projectPath } from "../paths";
import type { JobSpec } from "./job";

/** From a worker process: a training step reached, the result, or the error. */
export type JobProcessMessage =
  | { kind: "step"; step: number }
  | { kind: "done"; result: unknown }
  | { kind: "failed"; message: string; userError: boolean };

interface Task {
  spec: JobSpec;
  onStep: (step: number) => void;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
}

interface Slot {
  index: number;
  process: ChildProcess | null;
  task: Task | null;
}

export class JobProcessPool {
  private readonly slots: Slot[];
  private readonly waiting: Task[] = [];
  private closed = false;

  constructor(size: number) {
    this.slots = Array.from({ length: size }, (_, index) => ({ index, process: null, task: null }));
  }

  /** Runs `spec` in the next free process; `onStep` hears its steps (every 10th). */
  run(spec: JobSpec, onStep: (step: number) => void = () => {}): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error("the job pool is closed"));
    return new Promise((resolve, reject) => {
      this.waiting.push({ spec, onStep, resolve, reject });
      this.dispatch();
    });
  }

  /** Lets the processes go: idle ones exit now, busy ones between two steps (scripts/job-worker.ts); unstarted jobs fail. */
  close(): void {
    this.closed = true;
    for (const task of this.waiting.splice(0)) task.reject(new Error(`${task.spec.label}: the job pool closed before it started`));
    for (const slot of this.slots) if (slot.process?.connected) slot.process.disconnect();
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.task || this.waiting.length === 0) continue;
      slot.task = this.waiting.shift()!;
      (slot.process ??= this.start(slot)).send({ kind: "run", spec: slot.task.spec });
    }
  }

  private start(slot: Slot): ChildProcess {
    const child = fork(projectPath("scripts", "job-worker.ts"), [String(slot.index)], {
      execArgv: ["--import", "tsx"],
      env: { ...process.env, OPENBLAS_NUM_THREADS: "1" },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const finish = (settle: (task: Task) => void) => {
      const task = slot.task;
      slot.task = null;
      if (task) settle(task);
      if (!this.closed) this.dispatch();
    };
    child.on("message", (m: JobProcessMessage) => {
      if (m.kind === "step") slot.task?.onStep(m.step);
      else if (m.kind === "done") finish((t) => t.resolve(m.result));
      else finish((t) => t.reject(m.userError ? new UserError(m.message) : new Error(`${t.spec.label}: ${m.message}`)));
    });
    const died = (why: string) => {
      if (slot.process !== child) return; // already replaced ('error' and 'exit' can both come)
      slot.process = null;
      finish((t) => t.reject(new Error(`${t.spec.label}: worker process ${slot.index} ${why}`)));
    };
    child.on("error", (e) => died(`failed: ${e.message}`));
    child.on("exit", (code, signal) => died(`exited (${signal ?? `code ${code}`})`));
    return child;
  }
}
