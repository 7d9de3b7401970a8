// Figures, tables and verdicts of experiment 01 (interference), built from an InterferenceReport so that
// the notebook stays thin and the CLI's JSON carries the same numbers.
import type { PlotlyFigure } from "../display";
import type { ByK } from "../interference";
import type { CheckpointAnalysis, InterferenceReport } from "./interference";

const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
const ci = (c: [number, number], d = 3) => `[${fmt(c[0], d)}, ${fmt(c[1], d)}]`;

function errorTrace(name: string, rows: ByK[]): object {
  return {
    type: "scatter",
    mode: "lines+markers",
    name,
    x: rows.map((r) => r.k),
    y: rows.map((r) => r.mean),
    error_y: { type: "data", symmetric: false, array: rows.map((r) => r.ci[1] - r.mean), arrayminus: rows.map((r) => r.mean - r.ci[0]) },
    text: rows.map((r) => `${r.pairs} pairs`),
  };
}

/** Observation 1: mean gradient cosine vs k, one line per checkpoint, 95 % bootstrap CIs. */
export function cosineVsKFigure(report: InterferenceReport): PlotlyFigure {
  return {
    data: report.checkpoints.map((c) => errorTrace(`step ${c.step}`, c.byK)),
    layout: {
      title: { text: "Gradient cosine of a shared op vs number of differing layers k" },
      xaxis: { title: { text: "k (sub-layers that differ between the two children)" }, dtick: 1 },
      yaxis: { title: { text: "cosine of the shared op's gradients (95% CI)" } },
    },
  };
}

/** Observation 1 split by where the differing layers sit (last checkpoint). */
export function whereFigure(checkpoint: CheckpointAnalysis): PlotlyFigure {
  const label = { before: "all before the shared layer", after: "all after it (only the backward differs)", both: "before and after" };
  return {
    data: checkpoint.byWhere.map((w) => errorTrace(label[w.where], w.byK)),
    layout: {
      title: { text: `Where the differing layers are (step ${checkpoint.step})` },
      xaxis: { title: { text: "k" }, dtick: 1 },
      yaxis: { title: { text: "gradient cosine (95% CI)" } },
    },
  };
}

/** Observation 1 per shared layer (last checkpoint): a heatmap of mean cosine by layer and k. */
export function layerHeatmap(checkpoint: CheckpointAnalysis): PlotlyFigure {
  const ks = checkpoint.byK.map((b) => b.k);
  return {
    data: [
      {
        type: "heatmap",
        x: ks,
        y: checkpoint.byLayer.map((l) => `layer ${l.layer}`),
        z: checkpoint.byLayer.map((l) => ks.map((k) => l.byK.find((b) => b.k === k)?.mean ?? null)),
        colorscale: "Viridis",
        colorbar: { title: { text: "cosine" } },
      },
    ],
    layout: { title: { text: `Mean gradient cosine per shared layer and k (step ${checkpoint.step})` }, xaxis: { title: { text: "k" }, dtick: 1 } },
  };
}

/** Observation 2: gradient cosine against input and output similarity of the shared op, all pairs. */
export function ioScatter(checkpoint: CheckpointAnalysis): PlotlyFigure {
  const pairs = checkpoint.pairs;
  const trace = (name: string, x: number[], axis: string) => ({
    type: "scattergl",
    mode: "markers",
    name,
    x,
    y: pairs.map((p) => p.gradCosine),
    xaxis: axis === "1" ? "x" : "x2",
    yaxis: axis === "1" ? "y" : "y2",
    marker: { size: 5, opacity: 0.6, color: pairs.map((p) => p.k), colorscale: "Viridis", showscale: axis === "2", colorbar: { title: { text: "k" } } },
    text: pairs.map((p) => `layer ${p.layer}, k=${p.k}, ${p.where}`),
  });
  return {
    data: [trace("input cosine", pairs.map((p) => p.inputCosine), "1"), trace("output cosine", pairs.map((p) => p.outputCosine), "2")],
    layout: {
      title: { text: `Gradient cosine vs similarity of the shared op's input / output (step ${checkpoint.step})` },
      xaxis: { domain: [0, 0.44], title: { text: `input cosine (Spearman ${fmt(checkpoint.io.inputSpearman, 2)})` } },
      xaxis2: { domain: [0.52, 0.96], title: { text: `output cosine (Spearman ${fmt(checkpoint.io.outputSpearman, 2)})` } },
      yaxis: { anchor: "x", title: { text: "gradient cosine" } },
      yaxis2: { anchor: "x2", matches: "y" },
      showlegend: false,
    },
  };
}

/** Live monitor: interference between consecutive children during training, per sampler. */
export function monitorFigure(report: InterferenceReport): PlotlyFigure {
  return {
    data: report.monitor.map((m) => ({ type: "scatter", mode: "lines+markers", marker: { size: 4 }, name: m.sampler, x: m.points.map((p) => p.step), y: m.points.map((p) => p.cosine) })),
    layout: {
      title: { text: `Live monitor: gradient cosine of consecutive children on their shared ops (every ${report.config.monitorEvery} steps)` },
      xaxis: { title: { text: "training step" } },
      yaxis: { title: { text: "cosine (current vs previous child)" } },
    },
  };
}

/** One row per (checkpoint, k): the numbers behind the first figure. */
export function byKRows(report: InterferenceReport): Record<string, unknown>[] {
  return report.checkpoints.flatMap((c) => c.byK.map((b) => ({ step: c.step, k: b.k, pairs: b.pairs, "mean cosine": b.mean, "CI low": b.ci[0], "CI high": b.ci[1] })));
}

/** One row per checkpoint: the correlations of both observations with their CIs. */
export function correlationRows(report: InterferenceReport): Record<string, unknown>[] {
  return report.checkpoints.map((c) => ({
    step: c.step,
    "val loss": c.valLoss ?? null,
    pairs: c.pairs.length,
    "Spearman(k, cos)": c.kCorrelation.spearman,
    "CI (k)": ci(c.kCorrelation.ci, 2),
    "Spearman(k, cos) matrices": c.kCorrelationMatrices.spearman,
    "Spearman(input, cos)": c.io.inputSpearman,
    "CI (input)": ci(c.io.inputCi, 2),
    "Spearman(output, cos)": c.io.outputSpearman,
    "CI (output)": ci(c.io.outputCi, 2),
  }));
}

/** A sign verdict from a CI: the claim holds when the whole interval is on the claimed side of 0. */
function signVerdict(rho: number, interval: [number, number], claimed: "negative" | "positive"): string {
  const holds = claimed === "negative" ? interval[1] < 0 : interval[0] > 0;
  const against = claimed === "negative" ? interval[0] > 0 : interval[1] < 0;
  const what = `Spearman ${fmt(rho, 2)}, 95% CI ${ci(interval, 2)}`;
  if (holds) return `**reproduced** (${what})`;
  if (against) return `**contradicted** (${what}: the opposite sign)`;
  return `**not reproduced** (${what}: the interval includes 0)`;
}

/** The verdict per claim, in words, from the measured numbers of every checkpoint. */
export function verdicts(report: InterferenceReport): string {
  const lines = report.checkpoints.map((c) => {
    const first = c.byK[0], last = c.byK[c.byK.length - 1];
    return [
      `- step ${c.step}: observation 1 ${signVerdict(c.kCorrelation.spearman, c.kCorrelation.ci, "negative")}; ` +
        `mean cosine ${fmt(first.mean)} at k=${first.k} vs ${fmt(last.mean)} at k=${last.k}.`,
      `  Observation 2, input: ${signVerdict(c.io.inputSpearman, c.io.inputCi, "positive")}; ` +
        `output: ${signVerdict(c.io.outputSpearman, c.io.outputCi, "positive")}.`,
    ].join("\n");
  });
  const monitor = report.monitor
    .map((m) => `${m.sampler} ${fmt(m.lateMean)} (${m.points.length} points)`)
    .join(", ");
  return [...lines, `- live monitor, mean cosine of consecutive children over the second half of training: ${monitor}.`].join("\n");
}

/** The notebook's one-line key result. */
export function keyLine(report: InterferenceReport): string {
  const c = report.checkpoints[report.checkpoints.length - 1];
  return `step ${c.step}: Spearman(k, grad cos) ${fmt(c.kCorrelation.spearman, 2)} ${ci(c.kCorrelation.ci, 2)}; ` +
    `Spearman(output sim, grad cos) ${fmt(c.io.outputSpearman, 2)}`;
}
