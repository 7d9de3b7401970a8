// Drives headless Chromium through the DevTools protocol over a pipe (--remote-debugging-pipe: JSON messages
// separated by NUL on file descriptors 3 and 4), so a test can open a live page, click and read it back, with
// no WebSocket client and no npm dependency.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Readable, Writable } from "node:stream";
import { CHROMIUM, HEADLESS_FLAGS } from "../../scripts/check-html";

type Pending = { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void; method: string };

export class Browser {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private buffered = "";
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess, private readonly profile: string) {
    const out = child.stdio[4] as Readable;
    out.setEncoding("utf8");
    out.on("data", (chunk: string) => {
      this.buffered += chunk;
      let end: number;
      while ((end = this.buffered.indexOf("\0")) >= 0) {
        const message = JSON.parse(this.buffered.slice(0, end)) as { id?: number; result?: Record<string, unknown>; error?: { message: string } };
        this.buffered = this.buffered.slice(end + 1);
        const waiting = message.id === undefined ? undefined : this.pending.get(message.id);
        if (!waiting) continue; // an event: not used
        this.pending.delete(message.id!);
        if (message.error) waiting.reject(new Error(`${waiting.method}: ${message.error.message}`));
        else waiting.resolve(message.result ?? {});
      }
    });
    this.exited = new Promise((resolve) => child.on("exit", () => resolve()));
    void this.exited.then(() => {
      for (const p of this.pending.values()) p.reject(new Error(`Chromium exited during ${p.method}`));
      this.pending.clear();
    });
  }

  /** Starts headless Chromium with a fresh profile. */
  static launch(): Browser {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), "magic-cdp-"));
    const child = spawn(CHROMIUM, [...HEADLESS_FLAGS, "--remote-debugging-pipe", `--user-data-dir=${profile}`, "about:blank"], {
      stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"],
    });
    return new Browser(child, profile);
  }

  /** Sends one protocol command (to a page when `sessionId` is given) and resolves with its result. */
  send(method: string, params: object = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      (this.child.stdio[3] as Writable).write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  }

  /** Opens `url` in a new tab; returns the session to address it. */
  async open(url: string): Promise<string> {
    const { targetId } = await this.send("Target.createTarget", { url });
    const { sessionId } = await this.send("Target.attachToTarget", { targetId, flatten: true });
    return sessionId as string;
  }

  /** The value of a JavaScript expression in the page (awaited when it is a promise). */
  async evaluate<T>(sessionId: string, expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true }, sessionId);
    const thrown = r.exceptionDetails as { exception?: { description?: string }; text?: string } | undefined;
    if (thrown) throw new Error(`in the page: ${thrown.exception?.description ?? thrown.text}`);
    return (r.result as { value: T }).value;
  }

  /** Polls `expression` until it is truthy; fails after `timeoutMs` with `what` and the last value. */
  async waitFor<T>(sessionId: string, expression: string, what: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: T | undefined;
    while (Date.now() < deadline) {
      last = await this.evaluate<T>(sessionId, expression).catch(() => undefined);
      if (last) return last;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what} (last value: ${JSON.stringify(last)})`);
  }

  /** Clicks the centre of the element `selector` with the mouse, as a person would. */
  async click(sessionId: string, selector: string): Promise<void> {
    const box = await this.evaluate<{ x: number; y: number; hit: string } | null>(sessionId, `(() => {
      const e = document.querySelector(${JSON.stringify(selector)}); if (!e) return null;
      e.scrollIntoView({ block: "nearest" });
      const r = e.getBoundingClientRect(), x = r.x + r.width / 2, y = r.y + r.height / 2, at = document.elementFromPoint(x, y);
      return { x: x, y: y, hit: at && (e === at || e.contains(at)) ? "" : (at ? at.outerHTML.slice(0, 200) : "nothing") }; })()`);
    if (!box) throw new Error(`no element ${selector} to click`);
    if (box.hit) throw new Error(`${selector} is covered at (${box.x}, ${box.y}) by ${box.hit}`);
    for (const type of ["mousePressed", "mouseReleased"]) {
      await this.send("Input.dispatchMouseEvent", { type, x: box.x, y: box.y, button: "left", clickCount: 1 }, sessionId);
    }
  }

  /** Closes Chromium and waits for it to exit; removes its profile. */
  async close(): Promise<void> {
    await Promise.race([this.send("Browser.close").catch(() => undefined), this.exited]);
    const killed = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(killed);
    fs.rmSync(this.profile, { recursive: true, force: true });
  }
}
