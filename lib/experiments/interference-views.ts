// Figures, tables and verdicts of experiment 01 (interference), built from an InterferenceReport so that
// the notebook stays thin and the CLI's JSON carries the same numbers. Every interval a verdict reads is the
// clustered one (supernet seeds, then batches); the pair-level ones are shown only to compare.
import { fmt, fmtInterval as ci, type PlotlyFigure } from "../display";
import type { ByK, Estimate } from "../interference";
import type { CheckpointAnalysis, InterferenceReport, InterferenceUnit, SchemeRow } from "./interference";
import { sourcesSentence } from "./verify";
import { RANK_PRESETS } from "./ranking";
import { mean } from "../metrics";

/** Small differences (of cosines near 1) in 3 significant digits. */
const sig = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(3))) : "n/a");
const sigCi = (c: [number, number]) => `[${sig(c[0])}, ${sig(c[1])}]`;

function errorTrace(name: string, x: number[], y: number[], intervals: [number, number][], text?: string[]): object {
  return {
    type: "scatter",
    mode: "lines+markers",
    name,
    x,
    y,
    error_y: { type: "data", symmetric: false, array: intervals.map((c, i) => c[1] - y[i]), arrayminus: intervals.map((c, i) => y[i] - c[0]) },
    text,
  };
}

const byKTrace = (name: string, rows: ByK[]) => errorTrace(name, rows.map((r) => r.k), rows.map((r) => r.mean), rows.map((r) => r.clusteredCi), rows.map((r) => `${r.pairs} pairs`));

/** The analysed supernets in words: scheme, seeds, steps, loss against the unigram floor. */
export function supernetLine(report: InterferenceReport): string {
  const c = report.checkpoints[0];
  return `${report.config.schemes[0]} supernets of the ranking runs, seeds ${c.seeds.join(", ")}, step ${c.step}: mean validation loss of the ` +
    `ground-truth children ${fmt(c.valLoss ?? NaN)} nats vs the unigram floor ${fmt(report.unigramLoss)} (${fmt(report.unigramLoss - (c.valLoss ?? NaN), 2)} below). ` +
    `${c.pairs.length} pairs in ${c.clusters.batches} (seed, batch) clusters.`;
}

/** Observation 1: mean gradient cosine vs k on the base scheme's supernets, pooled over seeds, clustered 95 % CIs. */
export function cosineVsKFigure(report: InterferenceReport): PlotlyFigure {
  const c = report.checkpoints[0];
  return {
    data: [byKTrace(`${report.config.schemes[0]}, seeds ${c.seeds.join(", ")}`, c.byK)],
    layout: {
      title: { text: "Gradient cosine of a shared op vs number of differing layers k" },
      xaxis: { title: { text: "k (sub-layers that differ between the two children)" }, dtick: 1 },
      yaxis: { title: { text: "cosine of the shared op's gradients (clustered 95% CI)" } },
    },
  };
}

/** Observation 1 split by where the differing layers sit. */
export function whereFigure(checkpoint: CheckpointAnalysis): PlotlyFigure {
  const label = { before: "all before the shared layer", after: "all after it (only the backward differs)", both: "before and after" };
  return {
    data: checkpoint.byWhere.map((w) => byKTrace(label[w.where], w.byK)),
    layout: {
      title: { text: `Where the differing layers are (step ${checkpoint.step})` },
      xaxis: { title: { text: "k" }, dtick: 1 },
      yaxis: { title: { text: "gradient cosine (clustered 95% CI)" } },
    },
  };
}

/** Observation 1 per shared layer: a heatmap of mean cosine by layer and k. */
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

/** Observation 2: gradient cosine against input, output and output-gradient similarity, all pairs coloured by k. */
export function ioScatter(checkpoint: CheckpointAnalysis): PlotlyFigure {
  const pairs = checkpoint.pairs;
  const panels: [string, number[], number][] = [
    [`input cosine (Spearman ${fmt(checkpoint.io.inputSpearman, 2)})`, pairs.map((p) => p.inputCosine), 1],
    [`output cosine (Spearman ${fmt(checkpoint.io.outputSpearman, 2)})`, pairs.map((p) => p.outputCosine), 2],
    [`output-gradient cosine (Spearman ${fmt(checkpoint.io.outputGradSpearman, 2)})`, pairs.map((p) => p.outputGradCosine), 3],
  ];
  const axis = (i: number) => (i === 1 ? "" : String(i));
  return {
    data: panels.map(([name, x, i]) => ({
      type: "scattergl",
      mode: "markers",
      name,
      x,
      y: pairs.map((p) => p.gradCosine),
      xaxis: `x${axis(i)}`,
      yaxis: `y${axis(i)}`,
      marker: { size: 4, opacity: 0.5, color: pairs.map((p) => p.k), colorscale: "Viridis", showscale: i === 3, colorbar: { title: { text: "k" } } },
      text: pairs.map((p) => `seed ${p.seed}, layer ${p.layer}, k=${p.k}, ${p.where}`),
    })),
    layout: {
      title: { text: `Gradient cosine vs the similarity of the shared op's input / output / output gradient (step ${checkpoint.step})` },
      ...Object.fromEntries(panels.flatMap(([name], j) => {
        const i = j + 1;
        return [
          [`xaxis${axis(i)}`, { domain: [j * 0.34, j * 0.34 + 0.29], title: { text: name } }],
          [`yaxis${axis(i)}`, i === 1 ? { anchor: "x", title: { text: "gradient cosine" } } : { anchor: `x${i}`, matches: "y" }],
        ];
      })),
      showlegend: false,
    },
  };
}

/** Observation 2 within each k: Spearman of the gradient cosine with each similarity, clustered 95 % CIs. */
export function withinKFigure(checkpoint: CheckpointAnalysis): PlotlyFigure {
  const rows = checkpoint.withinK;
  const trace = (name: string, pick: (r: (typeof rows)[number]) => Estimate) =>
    errorTrace(name, rows.map((r) => r.k), rows.map((r) => pick(r).value), rows.map((r) => pick(r).clusteredCi));
  return {
    data: [trace("input cosine", (r) => r.input), trace("output cosine", (r) => r.output), trace("output-gradient cosine", (r) => r.outputGrad)],
    layout: {
      title: { text: "Observation 2 with k held fixed: Spearman with the gradient cosine, within each k" },
      xaxis: { title: { text: "k" }, dtick: 1 },
      yaxis: { title: { text: "Spearman within k (clustered 95% CI)" } },
    },
  };
}

/** One row per k: the within-k correlations. */
export function withinKRows(checkpoint: CheckpointAnalysis): Record<string, unknown>[] {
  return checkpoint.withinK.map((r) => ({
    k: r.k,
    pairs: r.pairs,
    "Spearman(input, cos)": r.input.value,
    "CI (input)": ci(r.input.clusteredCi, 2),
    "Spearman(output, cos)": r.output.value,
    "CI (output)": ci(r.output.clusteredCi, 2),
    "Spearman(output grad, cos)": r.outputGrad.value,
    "CI (output grad)": ci(r.outputGrad.clusteredCi, 2),
  }));
}

/** The partial correlations given k and position (and the output-gradient similarity), with both intervals. */
export function partialRows(checkpoint: CheckpointAnalysis): Record<string, unknown>[] {
  const p = checkpoint.partial;
  const rows: [string, string, Estimate][] = [
    ["input cosine", "k, where", p.input],
    ["output cosine", "k, where", p.output],
    ["output-gradient cosine", "k, where", p.outputGrad],
    ["input cosine", "k, where, output-gradient cosine", p.inputGivenOutputGrad],
    ["output cosine", "k, where, output-gradient cosine", p.outputGivenOutputGrad],
  ];
  return rows.map(([variable, given, e]) => ({ "similarity of": variable, given, "partial Spearman with grad cos": e.value, "clustered CI": ci(e.clusteredCi, 2), "pair-level CI": ci(e.ci, 2) }));
}

/** Pair-level vs clustered intervals of the headline statistics: how much treating pairs as independent understated. */
export function intervalRows(checkpoint: CheckpointAnalysis): Record<string, unknown>[] {
  const rows: [string, number, [number, number], [number, number]][] = [
    ["Spearman(k, cos)", checkpoint.kCorrelation.spearman, checkpoint.kCorrelation.ci, checkpoint.kCorrelation.clusteredCi],
    ["Spearman(input, cos)", checkpoint.io.inputSpearman, checkpoint.io.inputCi, checkpoint.io.inputClusteredCi],
    ["Spearman(output, cos)", checkpoint.io.outputSpearman, checkpoint.io.outputCi, checkpoint.io.outputClusteredCi],
    ...checkpoint.byK.map((b): [string, number, [number, number], [number, number]] => [`mean cos, k=${b.k}`, b.mean, b.ci, b.clusteredCi]),
  ];
  return rows.map(([statistic, value, pairCi, clusteredCi]) => ({
    statistic,
    value,
    "pair-level CI": ci(pairCi, 4),
    "clustered CI": ci(clusteredCi, 4),
    "width ratio": fmt((clusteredCi[1] - clusteredCi[0]) / (pairCi[1] - pairCi[0]), 1),
  }));
}

/** One row per k: the numbers behind the first figure. */
export function byKRows(report: InterferenceReport): Record<string, unknown>[] {
  return report.checkpoints.flatMap((c) => c.byK.map((b) => ({ step: c.step, k: b.k, pairs: b.pairs, "mean cosine": b.mean, "clustered CI": ci(b.clusteredCi, 4), "pair-level CI": ci(b.ci, 4) })));
}

/** Per-scheme interference on the yardstick: mean cosine by k, one line per scheme, clustered CIs. */
export function schemeFigure(report: InterferenceReport): PlotlyFigure {
  const s = report.schemes;
  return {
    data: s.rows.map((r) => errorTrace(r.scheme, r.byK.map((b) => b.k), r.byK.map((b) => b.value), r.byK.map((b) => b.ci))),
    layout: {
      title: { text: `The same ${s.pairsPerCell} pairs per (layer, k) under each scheme's trained supernets (seeds ${report.config.seeds.join(", ")})` },
      xaxis: { title: { text: "k" }, tickvals: s.ks },
      yaxis: { title: { text: "gradient cosine of the shared op (clustered 95% CI)" } },
    },
  };
}

/** Whether an interval of "scheme - base" cosine says less, more, or unresolved interference. */
function lessInterference(diff: [number, number]): "less" | "more" | "not resolved" {
  return diff[0] > 0 ? "less" : diff[1] < 0 ? "more" : "not resolved";
}

/** One row per scheme: its mean cosine on the yardstick and the paired difference with the base. */
export function schemeRows(report: InterferenceReport): Record<string, unknown>[] {
  return report.schemes.rows.map((r: SchemeRow) => ({
    scheme: r.scheme,
    seeds: r.seeds.length,
    pairs: r.pairs,
    "mean grad cos": r.meanCosine.value,
    CI: ci(r.meanCosine.ci, 4),
    [`minus ${report.schemes.base}`]: r.vsBase ? r.vsBase.diff.value : null,
    "CI (difference)": r.vsBase ? sigCi(r.vsBase.diff.ci) : "",
    [`interference vs ${report.schemes.base}`]: r.vsBase ? lessInterference(r.vsBase.diff.ci) : "(base)",
    "mean tau": mean(report.schemes.units.filter((u) => u.scheme === r.scheme).map((u) => u.kendallTau)),
  }));
}

/** Scatter over (scheme, seed): mean yardstick cosine against the unit's Kendall tau. */
export function tauScatter(report: InterferenceReport): PlotlyFigure {
  const s = report.schemes;
  return {
    data: report.config.schemes.map((scheme) => {
      const pts = s.units.filter((u) => u.scheme === scheme);
      return { type: "scatter", mode: "markers", name: scheme, x: pts.map((u) => u.meanCosine), y: pts.map((u) => u.kendallTau), text: pts.map((u) => `seed ${u.seed}`), marker: { size: 9 } };
    }),
    layout: {
      title: {
        text: `Less interference, better ranking? Spearman ${fmt(s.tauCorrelation.spearman, 2)} ${ci(s.tauCorrelation.ci, 2)} over ${s.tauCorrelation.units} supernets ` +
          `(given the seed: ${fmt(s.tauCorrelation.givenSeed.spearman, 2)} ${ci(s.tauCorrelation.givenSeed.ci, 2)})`,
      },
      xaxis: { title: { text: "mean gradient cosine on the yardstick pairs (higher = less interference)" } },
      yaxis: { title: { text: "Kendall tau of the supernet's ranking" } },
    },
  };
}

/** Live monitor of the ranking runs: interference between consecutive children during training, per scheme. */
export function monitorFigure(report: InterferenceReport): PlotlyFigure {
  return {
    data: report.monitor.map((m) => ({ type: "scatter", mode: "lines+markers", marker: { size: 4 }, name: m.sampler, x: m.points.map((p) => p.step), y: m.points.map((p) => p.cosine) })),
    layout: {
      title: { text: `Live monitor: gradient cosine of consecutive children on their shared ops (every ${RANK_PRESETS[report.config.preset].monitorEvery} steps, mean over seeds)` },
      xaxis: { title: { text: "training step" } },
      yaxis: { title: { text: "cosine (current vs previous child)" } },
    },
  };
}

/** Where each unit came from: committed, cached or computed, and from which supernet run. */
export function unitRows(report: InterferenceReport): Record<string, unknown>[] {
  return report.units.map((u) => ({
    scheme: u.scheme, seed: u.seed, pairs: u.pairs, source: u.source, supernet: u.origin, "config hash": u.configHash, "code digest": u.codeDigest,
    backend: u.backend, commit: u.codeVersion ?? "", date: u.createdAt ?? "", "measure s": Number(u.measureSeconds.toFixed(1)),
  }));
}

/** A sign verdict from a (clustered) CI: the claim holds when the whole interval is on the claimed side of 0. */
function signVerdict(rho: number, interval: [number, number], claimed: "negative" | "positive"): string {
  const holds = claimed === "negative" ? interval[1] < 0 : interval[0] > 0;
  const against = claimed === "negative" ? interval[0] > 0 : interval[1] < 0;
  const what = `Spearman ${fmt(rho, 2)}, clustered 95% CI ${ci(interval, 2)}`;
  if (holds) return `**reproduced** (${what})`;
  if (against) return `**contradicted** (${what}: the opposite sign)`;
  return `**not reproduced** (${what}: the interval includes 0)`;
}

/** The verdict per claim, in words, from the numbers (clustered intervals throughout). */
export function verdicts(report: InterferenceReport): string {
  const c = report.checkpoints[0];
  const first = c.byK[0], last = c.byK[c.byK.length - 1];
  const positive = (e: Estimate) => e.clusteredCi[0] > 0;
  const withinHolds = (pick: (r: (typeof c.withinK)[number]) => Estimate) => c.withinK.filter((r) => positive(pick(r))).length;
  const minCos = Math.min(...c.pairs.map((p) => p.gradCosine));
  const lines = [
    `- Observation 1 (more differing layers, more interference): ${signVerdict(c.kCorrelation.spearman, c.kCorrelation.clusteredCi, "negative")}; ` +
      `mean cosine ${fmt(first.mean)} at k=${first.k} vs ${fmt(last.mean)} at k=${last.k}.`,
    `- Observation 2 pooled over k (as before): input ${signVerdict(c.io.inputSpearman, c.io.inputClusteredCi, "positive")}; output ` +
      `${signVerdict(c.io.outputSpearman, c.io.outputClusteredCi, "positive")}.`,
    `- Observation 2 beyond observation 1 (partial Spearman given k and where the differing layers sit): input ` +
      `${signVerdict(c.partial.input.value, c.partial.input.clusteredCi, "positive")}; output ${signVerdict(c.partial.output.value, c.partial.output.clusteredCi, "positive")}. ` +
      `Within single k values the output similarity's correlation is above 0 (whole CI) at ${withinHolds((r) => r.output)} of ${c.withinK.length} k, ` +
      `the input similarity's at ${withinHolds((r) => r.input)} of ${c.withinK.length}.`,
    `- The third variable, the similarity of the gradient reaching the op's output: partial Spearman given k and position ` +
      `${fmt(c.partial.outputGrad.value, 2)} ${ci(c.partial.outputGrad.clusteredCi, 2)}; the output similarity given it as well: ` +
      `${fmt(c.partial.outputGivenOutputGrad.value, 2)} ${ci(c.partial.outputGivenOutputGrad.clusteredCi, 2)} ` +
      (positive(c.partial.outputGivenOutputGrad)
        ? "(output similarity still adds information)."
        : "(**no effect of the output similarity is left once the output-gradient similarity is known**)."),
    `- Scale: the smallest gradient cosine of any pair is ${fmt(minCos)}; ${supernetLine(report)} Interference at a converged budget is **not measured** here.`,
  ];
  const s = report.schemes;
  const schemeLines = s.rows.filter((r) => r.vsBase).map((r) =>
    `${r.scheme} ${lessInterference(r.vsBase!.diff.ci) === "less" ? "**less**" : lessInterference(r.vsBase!.diff.ci) === "more" ? "**more**" : "no resolved difference"} ` +
    `(${sig(r.vsBase!.diff.value)} ${sigCi(r.vsBase!.diff.ci)})`);
  lines.push(`- Per scheme, the same pairs (k = ${s.ks.join(", ")}) against ${s.base}'s supernets (difference of mean cosine, clustered CI): ${schemeLines.join("; ")}. ` +
    `With ${report.config.seeds.length} seeds the seed level of the bootstrap has few distinct resamples.`);
  const t = s.tauCorrelation;
  lines.push(`- Less interference with better ranking (over ${t.units} supernets): ` +
    `${signVerdict(t.spearman, t.ci, "positive").replace("clustered 95% CI", "95% CI over supernets")}; within seeds (partial given the seed): ` +
    `${signVerdict(t.givenSeed.spearman, t.givenSeed.ci, "positive").replace("clustered 95% CI", "95% CI over supernets")}.`);
  return lines.join("\n");
}

/** The notebook's one-line key result. */
export function keyLine(report: InterferenceReport): string {
  const c = report.checkpoints[0];
  const diffs = report.schemes.rows.filter((r) => r.vsBase).map((r) => `${r.scheme} ${r.vsBase!.diff.value >= 0 ? "+" : ""}${sig(r.vsBase!.diff.value)}`);
  return `step ${c.step}, ${c.seeds.length} seeds: Spearman(k, grad cos) ${fmt(c.kCorrelation.spearman, 2)} ${ci(c.kCorrelation.clusteredCi, 2)}; ` +
    `partial Spearman(output sim, grad cos | k, where) ${fmt(c.partial.output.value, 2)} ${ci(c.partial.output.clusteredCi, 2)}; ` +
    `cos vs ${report.schemes.base}: ${diffs.join(", ")}`;
}

/** Where the units came from, one sentence (the notebook's provenance line and its run summary). */
export function unitSources(units: InterferenceUnit[], preset: string): string {
  return sourcesSentence(units, "interference (scheme, seed) units",
    { committed: `\`data/interference/${preset}/\``, cached: "earlier measurements under `runs/`", computed: "measured now" });
}
