"""Executes one notebook with the tslab kernel and writes the executed .ipynb and an offline HTML report
(which loads plotly.js and MathJax from the report folder, see scripts/report-assets.ts).

Used by scripts/reproduce.ts; run it with the Debian Python that has Jupyter (/usr/bin/python3).
The last stdout line is a JSON summary: {"status": "ok"|"failed", "cell": n|null, "prompt": n|null, "error": text},
where cell is the failing cell's 1-based position and prompt its execution count (the "In [n]" label).
Exit status 1 when a cell fails (a thrown error or a TypeScript type error), times out or the kernel dies, and
when a cell shows an unhandled promise rejection or uncaught exception (tslab prints them and goes on).
The error text starts with a one-line headline, then everything the kernel printed about the error.
"""
import argparse
import json
import os
import re
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbconvert import HTMLExporter

PLOTLY_MIME = "application/vnd.plotly.v1+json"
TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nbconvert")


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
# Node's note on where a synchronously thrown error was thrown: "file:line", the source line, a caret line.
THROW_SITE = re.compile(r"\A\S+:\d+\n.*\n *\^+ *\n\n")
STACK_FRAME = re.compile(r"^\s+at ")
TS_DIAGNOSTIC = re.compile(r"^(\S+ )?\d+:\d+ - ")
# tslab's process handlers print errors that no cell awaited with these prefixes, and the cell goes on.
BACKGROUND_ERROR = re.compile(r"^(UnhandledPromiseRejection|UncaughtException): ", re.M)
BARE_NAME = re.compile(r"[A-Za-z_$][\w$]*")
# After a cell's execute_reply, nbclient waits this long for the kernel's "idle" on iopub and then stops
# collecting that cell's outputs. Its default (4 s) silently cut the tail off a burst of displays whenever this
# process read them more slowly than the kernel sent them (a loaded CI machine); our kernel holds "idle" until
# its display queue is sent (lib/display.ts), so the wait ends as soon as the last output is read.
DEFAULT_IOPUB_TIMEOUT_SECONDS = 300
IOPUB_TIMEOUT_MESSAGE = "Timeout waiting for IOPub output"
LOST_ERROR_TEXT = """the kernel reported a failure but sent no error text
tslab prints a cell's error with console.error, and Node drops the text when that write fails, as it does when the
kernel's output socket is busy (zeromq's "Socket is busy writing", after a burst of outputs within one tick; a
display call in the notebook can throw that error too, which then is the lost error)."""


def stream_text(cell, name):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == name)


def error_outputs_text(cell):
    # tslab never sends `error` outputs, other kernels do (ename, evalue and an ANSI-coloured traceback).
    return "\n".join(
        ANSI_ESCAPE.sub("", "\n".join(o.get("traceback") or [])) or f"{o.get('ename')}: {o.get('evalue')}"
        for o in cell.get("outputs", [])
        if o.get("output_type") == "error"
    )


def headline(text):
    """The line that names the error ("Error: message", a TypeScript diagnostic, a thrown value), with a note
    when the message is empty or there is no stack, so that one-line summaries never show a bare "Error"."""
    lines = [line for line in THROW_SITE.sub("", text, count=1).split("\n") if line.strip()]
    first = lines[0].strip()
    # Node prints an Error without a message as its bare name, then the stack.
    if BARE_NAME.fullmatch(BACKGROUND_ERROR.sub("", first)) and len(lines) > 1 and STACK_FRAME.match(lines[1]):
        return f"{first} (empty error message)"
    if not any(STACK_FRAME.match(line) for line in lines) and not TS_DIAGNOSTIC.match(first):
        return f"{first} (no stack trace in the kernel's output)"
    return first


def cell_error_text(cell):
    """All the kernel said about a failed cell (its stderr and any error outputs) after a headline; never empty."""
    # tslab reports errors (TypeScript diagnostics, uncaught exceptions with their stack) as stderr text.
    text = "\n".join(t for t in (stream_text(cell, "stderr").strip(), error_outputs_text(cell).strip()) if t)
    if text:
        return f"{headline(text)}\n\n{text}"
    printed = stream_text(cell, "stdout").strip().split("\n")[-10:]
    return LOST_ERROR_TEXT + ("\n\nThe cell's last output lines:\n" + "\n".join(printed) if any(printed) else "")


def background_error(nb):
    """An unhandled promise rejection or uncaught exception that tslab printed into a cell which then went on:
    the notebook ran to its end, but some of its work failed unseen."""
    for index, cell in enumerate(nb.cells):
        match = BACKGROUND_ERROR.search(stream_text(cell, "stderr")) if cell.cell_type == "code" else None
        if match:
            text = stream_text(cell, "stderr")[match.start():].strip()
            return failure(nb, index, f"{headline(text)} (not awaited by the cell, which went on)\n\n{text}")
    return None


def failure(nb, index, error):
    cell = nb.cells[index] if index is not None else {}
    return {"status": "failed", "cell": None if index is None else index + 1, "prompt": cell.get("execution_count"), "error": error}


def execute(nb, cwd, timeout, kernel, iopub_timeout):
    current = {}
    code_cells = sum(1 for c in nb.cells if c.cell_type == "code")

    def on_cell_execute(cell, cell_index):
        current["cell"] = cell_index
        current["start"] = time.monotonic()

    def on_cell_executed(cell, cell_index, execute_reply):
        # One stderr line per cell, so a long notebook shows progress in the runner's log.
        done = sum(1 for c in nb.cells[: cell_index + 1] if c.cell_type == "code")
        status = (execute_reply or {}).get("content", {}).get("status", "?")
        print(f"cell {done}/{code_cells} {status} in {time.monotonic() - current['start']:.1f} s", file=sys.stderr, flush=True)

    # The timeout is for the whole notebook: each cell gets what is left of it.
    deadline = time.monotonic() + timeout
    client = NotebookClient(
        nb,
        kernel_name=kernel,
        timeout_func=lambda cell: max(1, int(deadline - time.monotonic())),
        resources={"metadata": {"path": cwd}},
        on_cell_execute=on_cell_execute,
        on_cell_executed=on_cell_executed,
        iopub_timeout=iopub_timeout,
        # Outputs still missing after that wait fail the run instead of leaving the saved notebook short.
        raise_on_iopub_timeout=True,
    )
    try:
        client.execute()
        return background_error(nb) or {"status": "ok", "cell": None, "prompt": None, "error": ""}
    except CellTimeoutError as e:
        if IOPUB_TIMEOUT_MESSAGE in str(e):
            return failure(
                nb,
                current.get("cell"),
                f"the cell ended but its outputs did not all arrive within {iopub_timeout} s after it "
                "(no \"idle\" status from the kernel on iopub); the saved notebook would lack them",
            )
        return failure(nb, current.get("cell"), f"timed out: the notebook took more than {timeout} s")
    except DeadKernelError as e:
        return failure(nb, current.get("cell"), f"kernel died: {e}")
    except CellExecutionError as e:
        index = current.get("cell")
        return failure(nb, index, cell_error_text(nb.cells[index]) if index is not None else str(e).strip())


def has_plot(nb):
    return any(PLOTLY_MIME in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def export_html(nb, name, plotly_src, mathjax_src):
    resources = {"metadata": {"name": name}}
    if has_plot(nb):
        resources["plotly_src"] = plotly_src
    # The exporter overrides resources["mathjax_url"] with this trait (Debian's default: a file:// URL).
    exporter = HTMLExporter(template_name="magic-offline", extra_template_basedirs=[TEMPLATES], mathjax_url=mathjax_src)
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    return html


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("notebook")
    p.add_argument("--out-ipynb", required=True)
    p.add_argument("--out-html", required=True)
    p.add_argument("--plotly-src", required=True, help="URL of plotly.min.js, relative to the HTML page")
    p.add_argument("--mathjax-src", required=True, help="URL of MathJax.js with its config, relative to the HTML page")
    p.add_argument("--timeout", type=int, default=3600, help="seconds for the whole notebook")
    p.add_argument("--iopub-timeout", type=int, default=DEFAULT_IOPUB_TIMEOUT_SECONDS, help="seconds a cell's outputs may take to arrive after it ends")
    p.add_argument("--kernel", default="tslab")
    a = p.parse_args()

    nb = nbformat.read(a.notebook, as_version=4)
    cwd = os.path.dirname(os.path.abspath(a.notebook))
    result = execute(nb, cwd, a.timeout, a.kernel, a.iopub_timeout)
    nbformat.write(nb, a.out_ipynb)
    name = os.path.splitext(os.path.basename(a.notebook))[0]
    with open(a.out_html, "w", encoding="utf-8") as f:
        f.write(export_html(nb, name, a.plotly_src, a.mathjax_src))
    print(json.dumps(result), flush=True)
    return 0 if result["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
