// `npm run jupyter` as a person uses it: the server (scripts/jupyter.sh) on a free port, a notebook opened in
// headless Chromium, its first code cell run with the toolbar's Run button, the kernel back to "idle" with the
// cell's output shown; then the server is stopped and none of its processes (kernel included) is left.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { CHROMIUM } from "../scripts/check-html";
import { ROOT, jupyterMissing } from "../scripts/reproduce";
import { Browser } from "./helpers/browser";
import { checkoutState, useTemporaryOutputDirs } from "./helpers/checkout-state";

const missing = jupyterMissing();
const skip = missing && !process.env.CI ? `Jupyter is not usable here: ${missing}`
  : process.env.MAGIC_SKIP_BROWSER === "1" ? "MAGIC_SKIP_BROWSER=1: the notebook UI is not opened in Chromium" : false;
const checkoutBefore = checkoutState();
useTemporaryOutputDirs();
const home = fs.mkdtempSync(path.join(os.tmpdir(), "magic-jupyter-"));
after(() => fs.rmSync(home, { recursive: true, force: true }));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Every process below `pid` (children, grandchildren...), from /proc. */
function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      children.push(...fs.readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number));
    }
  } catch {
    children = []; // gone already
  }
  return children.flatMap((c) => [c, ...descendants(c)]);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !fs.readFileSync(`/proc/${pid}/stat`, "utf8").match(/^\d+ \(.*\) Z /); // a zombie has exited
  } catch {
    return false;
  }
};

test("npm run jupyter serves the notebooks; in Chromium the first cell runs on the tslab kernel, which returns to idle", { skip, timeout: 240_000 }, async () => {
  assert.equal(missing, null);
  assert.ok(fs.existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: install it (bash scripts/setup.sh) or set MAGIC_SKIP_BROWSER=1`);
  const notebook = path.join(ROOT, "notebooks", "00-environment.ipynb");
  const committed = fs.readFileSync(notebook, "utf8");
  const port = await freePort();
  const token = Math.random().toString(36).slice(2);
  const env = {
    ...process.env,
    MAGIC_PRESET: "tiny",
    // the server's own state (config, runtime files, data) stays out of $HOME
    JUPYTER_CONFIG_DIR: path.join(home, "config"), JUPYTER_RUNTIME_DIR: path.join(home, "runtime"), JUPYTER_DATA_DIR: path.join(home, "data"),
    IPYTHONDIR: path.join(home, "ipython"),
  };
  const server = spawn("npm", ["run", "--silent", "jupyter", "--", "--no-browser", "--ip=127.0.0.1", `--port=${port}`,
    "--NotebookApp.port_retries=0", `--NotebookApp.token=${token}`], { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  server.stdout!.on("data", (d) => (log += d));
  server.stderr!.on("data", (d) => (log += d));
  const exited = new Promise<void>((resolve) => server.on("exit", () => resolve()));
  const browser = Browser.launch();
  let processes: number[] = [];
  try {
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 90_000; // jupyter.sh first builds dist/
    while (!(await fetch(`${base}/api/status?token=${token}`).then((r) => r.ok, () => false))) {
      assert.ok(server.exitCode === null, `the server exited:\n${log}`);
      assert.ok(Date.now() < deadline, `the server did not answer on ${base} within 90 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const page = await browser.open(`${base}/notebooks/notebooks/00-environment.ipynb?token=${token}`);
    await browser.waitFor(page, `window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected() &&
      document.querySelector("#kernel_indicator_icon.kernel_idle_icon") !== null`, "the tslab kernel to connect and be idle", 60_000);
    assert.equal(await browser.evaluate(page, "Jupyter.notebook.kernel.name"), "tslab");
    // The committed notebook must stay without outputs: no autosave of the cell run below.
    await browser.evaluate(page, "Jupyter.notebook.set_autosave_interval(0)");

    // Select the first code cell (a click on it), then the toolbar's Run button.
    const first = await browser.evaluate<number>(page, `Jupyter.notebook.get_cells().findIndex((c) => c.cell_type === "code")`);
    await browser.click(page, `.cell:nth-child(${first + 1}) .input_area`);
    await browser.click(page, `button[data-jupyter-action="jupyter-notebook:run-cell-and-select-next"]`);
    const state = `(() => { const c = Jupyter.notebook.get_cell(${first});
      return { prompt: c.input_prompt_number, kernel: document.querySelector("#kernel_indicator_icon").className, output: c.output_area.element.text(),
        selected: Jupyter.notebook.get_selected_index(), dialogs: [...document.querySelectorAll(".modal.in .modal-body")].map((d) => d.textContent) }; })()`;
    const output = await browser.waitFor<string>(page, `(() => { const s = ${state};
      return typeof s.prompt === "number" && /kernel_idle_icon/.test(s.kernel) && s.output; })()`,
      "the first cell to finish with the kernel idle", 120_000).catch(async (e: Error) => {
      throw new Error(`${e.message}; the cell and kernel: ${JSON.stringify(await browser.evaluate(page, state))}\nserver log:\n${log}`);
    });
    assert.match(output, /MAGIC_PRESET=tiny/, "the cell's console output is shown");
    assert.doesNotMatch(output, /Error/, "the cell ran without an error");
    processes = descendants(server.pid!);
    assert.ok(processes.length >= 2, `the server and its kernel run below npm (${processes.length} processes)`);
  } finally {
    await browser.close();
    processes = [...new Set([...processes, ...descendants(server.pid!)])];
    process.kill(-server.pid!, "SIGTERM"); // the npm / bash / jupyter process group we started; jupyter shuts its kernels down
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
  }
  const deadline = Date.now() + 20_000;
  while (processes.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(processes.filter(alive), [], "no process of the server or its kernel is left");
  assert.equal(fs.readFileSync(notebook, "utf8"), committed, "the opened notebook was not saved");
});

test("the checkout's reports/, runs/ and data/ are as they were before the Jupyter UI test", () => {
  assert.deepEqual(checkoutState(), checkoutBefore);
});
