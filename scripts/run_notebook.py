"""Executes one notebook with the tslab kernel and writes the executed .ipynb and an offline HTML report.

Used by scripts/reproduce.ts; run it with the Debian Python that has Jupyter (/usr/bin/python3).
The last stdout line is a JSON summary: {"status": "ok"|"failed", "cell": n|null, "prompt": n|null, "error": text},
where cell is the failing cell's 1-based position and prompt its execution count (the "In [n]" label).
Exit status 1 when a cell fails (a thrown error or a TypeScript type error), times out or the kernel dies.
"""
import argparse
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbconvert import HTMLExporter

PLOTLY_MIME = "application/vnd.plotly.v1+json"
TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nbconvert")


def cell_error_text(cell):
    # tslab reports errors (TypeScript diagnostics, uncaught exceptions) as stderr text, not as an
    # `error` output with ename/evalue, so the stderr of the failing cell is the error message.
    text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr")
    return text.strip()


def failure(nb, index, error):
    cell = nb.cells[index] if index is not None else {}
    return {"status": "failed", "cell": None if index is None else index + 1, "prompt": cell.get("execution_count"), "error": error}


def execute(nb, cwd, timeout, kernel):
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
    )
    try:
        client.execute()
        return {"status": "ok", "cell": None, "prompt": None, "error": ""}
    except CellTimeoutError:
        return failure(nb, current.get("cell"), f"timed out: the notebook took more than {timeout} s")
    except DeadKernelError as e:
        return failure(nb, current.get("cell"), f"kernel died: {e}")
    except CellExecutionError as e:
        index = current.get("cell")
        text = cell_error_text(nb.cells[index]) if index is not None else ""
        return failure(nb, index, text or str(e).strip())


def has_plot(nb):
    return any(PLOTLY_MIME in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def export_html(nb, name, plotly_path):
    resources = {"metadata": {"name": name}}
    if has_plot(nb):
        with open(plotly_path, encoding="utf-8") as f:
            resources["plotly_js"] = f.read().replace("</script", "<\\/script")
    exporter = HTMLExporter(template_name="magic-offline", extra_template_basedirs=[TEMPLATES])
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    return html


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("notebook")
    p.add_argument("--out-ipynb", required=True)
    p.add_argument("--out-html", required=True)
    p.add_argument("--plotly", required=True, help="path of plotly.min.js to inline")
    p.add_argument("--timeout", type=int, default=3600, help="seconds for the whole notebook")
    p.add_argument("--kernel", default="tslab")
    a = p.parse_args()

    nb = nbformat.read(a.notebook, as_version=4)
    cwd = os.path.dirname(os.path.abspath(a.notebook))
    result = execute(nb, cwd, a.timeout, a.kernel)
    nbformat.write(nb, a.out_ipynb)
    name = os.path.splitext(os.path.basename(a.notebook))[0]
    with open(a.out_html, "w", encoding="utf-8") as f:
        f.write(export_html(nb, name, a.plotly))
    print(json.dumps(result), flush=True)
    return 0 if result["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
