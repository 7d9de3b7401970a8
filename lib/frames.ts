// Experiment results as danfo DataFrames, for ad hoc analysis in the notebooks: filter by scheme, group by
// seed, join the ground truth with supernet scores, compute your own statistic. One row per measured unit,
// flat columns in snake_case (usable as `frame["kendall_tau"]`), each described where its frame is built.
// `showTable` (lib/display.ts) shows any of them; `summarize` adds the quantiles danfo's groupby lacks.
import { DataFrame } from "danfojs-node";
import { max, mean, median, min, quantileSeq, std } from "mathjs";
import type { GroundTruthTable } from "./experiments/ground-truth";
import type { InterferenceReport } from "./experiments/interference";
import type { RankResult } from "./experiments/ranking";
import type { GlueUnit } from "./experiments/glue-sweep";

export { DataFrame };

/** A frame from row objects; an empty list still gives the named columns (danfo cannot infer them). */
function frameOf(rows: Record<string, unknown>[], columns: string[]): DataFrame {
  return rows.length ? new DataFrame(rows, { columns }) : new DataFrame([], { columns });
}

/**
 * The ground truth, one row per (child, training seed):
 * `child` (architecture id), `seed` (of the child's own training run), `params`, `flops`,
 * `val_loss` / `val_accuracy` (masked-LM validation loss and accuracy after `steps` training steps), `steps`,
 * `backend` (the tfjs backend that trained it). Average over `seed` for the loss a supernet has to rank.
 */
export function groundTruthFrame(gt: GroundTruthTable): DataFrame {
  const columns = ["child", "seed", "params", "flops", "val_loss", "val_accuracy", "steps", "backend"];
  return frameOf(gt.rows.map((r) => ({
    child: r.id, seed: r.seed, params: r.params, flops: r.flops, val_loss: r.valLoss, val_accuracy: r.valAccuracy, steps: r.steps, backend: r.backend,
  })), columns);
}

/** 0-based ranks of `xs` (0 = smallest = best loss); ties keep their input order. */
function ranks(xs: number[]): number[] {
  const out = new Array<number>(xs.length);
  xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]).forEach(([, i], r) => (out[i] = r));
  return out;
}

/**
 * Per-child ranking values, one row per (scheme, supernet seed, child):
 * `scheme` (sampler), `seed` (of the supernet), `child`, `params`, `flops`,
 * `supernet_loss` (validation loss with weights inherited from the supernet), `ground_truth_loss` (trained
 * alone, mean over the ground truth's seeds), `supernet_rank` / `ground_truth_rank` (0 = best among the
 * children of that supernet) and `rank_error` (|supernet_rank - ground_truth_rank|).
 */
export function rankingChildrenFrame(results: RankResult[]): DataFrame {
  const columns = ["scheme", "seed", "child", "params", "flops", "supernet_loss", "ground_truth_loss", "supernet_rank", "ground_truth_rank", "rank_error"];
  return frameOf(results.flatMap((r) => {
    const bySupernet = ranks(r.children.map((c) => c.supernet)), byTruth = ranks(r.children.map((c) => c.groundTruth));
    return r.children.map((c, i) => ({
      scheme: r.scheme, seed: r.seed, child: c.id, params: c.params, flops: c.flops, supernet_loss: c.supernet, ground_truth_loss: c.groundTruth,
      supernet_rank: bySupernet[i], ground_truth_rank: byTruth[i], rank_error: Math.abs(bySupernet[i] - byTruth[i]),
    }));
  }), columns);
}

/**
 * Ranking quality, one row per (scheme, supernet seed): `scheme`, `seed`, `steps` (supernet training steps),
 * `children`, `kendall_tau` / `spearman_rho` (supernet vs ground truth over the children) with
 * `kendall_tau_ci_low` / `kendall_tau_ci_high` (95 % bootstrap over children), `precision_at_k` (share of the
 * true top k among the supernet's top k) and `top_k`, `mean_supernet_loss`, `seconds_per_step`, `source`
 * (computed now, a cached run, or the committed table).
 */
export function rankingRunsFrame(results: RankResult[]): DataFrame {
  const columns = ["scheme", "seed", "steps", "children", "kendall_tau", "kendall_tau_ci_low", "kendall_tau_ci_high", "spearman_rho",
    "precision_at_k", "top_k", "mean_supernet_loss", "seconds_per_step", "source"];
  return frameOf(results.map((r) => {
    const [k, p] = Object.entries(r.precisionAtK)[0];
    return {
      scheme: r.scheme, seed: r.seed, steps: r.steps, children: r.children.length, kendall_tau: r.kendallTau,
      kendall_tau_ci_low: r.ci.kendallTau[0], kendall_tau_ci_high: r.ci.kendallTau[1], spearman_rho: r.spearman,
      precision_at_k: p, top_k: Number(k), mean_supernet_loss: r.meanSupernetLoss, seconds_per_step: r.secondsPerStep, source: r.source ?? "",
    };
  }), columns);
}

/**
 * GLUE fine-tunings of notebook 05, one row per (model, task, fine-tuning seed): `model` (a hand-designed
 * baseline, `searched-<scheme>`, or a ground-truth child's id), `kind` (`model` or `ground-truth`), `arch`,
 * `params`, `task`, `seed`, `score` (the task's GLUE score: the mean of its metrics), one column per GLUE
 * metric (`accuracy`, `f1`, `matthews`, `pearson`, `spearman`; empty where the task does not define it),
 * `dev_loss`, `steps`, `pretrain_val_loss` (the encoder's validation MLM loss) and `source`.
 */
export function glueUnitsFrame(units: GlueUnit[]): DataFrame {
  const metrics = ["accuracy", "f1", "matthews", "pearson", "spearman"] as const;
  const columns = ["model", "kind", "arch", "params", "task", "seed", "score", ...metrics, "dev_loss", "steps", "pretrain_val_loss", "source"];
  return frameOf(units.map((u) => ({
    model: u.model, kind: u.kind, arch: u.archId, params: u.params, task: u.task, seed: u.seed, score: u.score,
    ...Object.fromEntries(metrics.map((m) => [m, u.metrics[m] ?? null])),
    dev_loss: u.devLoss, steps: u.steps, pretrain_val_loss: u.pretrain.valLoss, source: u.source ?? "",
  })), columns);
}

/**
 * Interference pairs of notebook 01, one row per measured pair of children: `step` (checkpoint of the
 * uniform supernet), `supernet_seed` and `batch` (the supernet and validation batch it was measured on: the
 * clusters of the notebook's bootstrap), `shared_layer` (the sub-layer whose operator both children use), `k` (how many other
 * sub-layers differ), `where` (before / after / both: where the differing sub-layers sit), `grad_cosine`
 * (cosine of the shared operator's gradients under the two children), `matrix_grad_cosine` (the same over its
 * weight matrices only), `input_cosine` / `output_cosine` (similarity of its input / output across the two),
 * `output_grad_cosine` (similarity of the loss gradient that reaches its output under the two).
 */
export function interferencePairsFrame(report: InterferenceReport): DataFrame {
  const columns = ["step", "supernet_seed", "batch", "shared_layer", "k", "where", "grad_cosine", "matrix_grad_cosine", "input_cosine", "output_cosine", "output_grad_cosine"];
  return frameOf(report.checkpoints.flatMap((c) => c.pairs.map((p) => ({
    step: c.step, supernet_seed: p.seed, batch: p.batch, shared_layer: p.layer, k: p.k, where: p.where, grad_cosine: p.gradCosine,
    matrix_grad_cosine: p.matrixGradCosine, input_cosine: p.inputCosine, output_cosine: p.outputCosine, output_grad_cosine: p.outputGradCosine,
  }))), columns);
}

/**
 * Per group of `by` (in order of first appearance), the distribution of `column`: `count`, `mean`, `sd`
 * (sample standard deviation, empty for one value), `min`, `q05`, `median`, `q95`, `max` (quantiles by linear
 * interpolation, mathjs `quantileSeq`). danfo's groupby has mean and std but no quantiles.
 */
export function summarize(frame: DataFrame, by: string[], column: string): DataFrame {
  for (const c of [...by, column]) {
    if (!frame.columns.includes(c)) throw new Error(`summarize: no column "${c}" (columns: ${frame.columns.join(", ")})`);
  }
  const groups = new Map<string, { keys: unknown[]; values: number[] }>();
  const rows = frame.values as unknown[][];
  const keyAt = by.map((c) => frame.columns.indexOf(c)), valueAt = frame.columns.indexOf(column);
  for (const row of rows) {
    const keys = keyAt.map((i) => row[i]);
    const id = JSON.stringify(keys);
    const group = groups.get(id) ?? { keys, values: [] };
    const v = Number(row[valueAt]);
    if (Number.isFinite(v)) group.values.push(v);
    groups.set(id, group);
  }
  const stats = ["count", "mean", "sd", "min", "q05", "median", "q95", "max"];
  const out = [...groups.values()].map(({ keys, values: xs }) => ({
    ...Object.fromEntries(by.map((c, i) => [c, keys[i]])),
    count: xs.length,
    mean: xs.length ? mean(xs) : NaN,
    sd: xs.length > 1 ? Number(std(xs)) : NaN,
    min: xs.length ? min(xs) : NaN,
    q05: xs.length ? Number(quantileSeq(xs, 0.05)) : NaN,
    median: xs.length ? median(xs) : NaN,
    q95: xs.length ? Number(quantileSeq(xs, 0.95)) : NaN,
    max: xs.length ? max(xs) : NaN,
  }));
  return frameOf(out, [...by, ...stats]);
}
