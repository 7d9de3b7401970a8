// Tables, figures and verdicts of notebooks 02-04, built from per-(scheme, seed) RankResults. Every number
// shown is recomputed from the per-child values in the results (see rankStats), never typed in.
import type { PlotlyFigure } from "../display";
import { mean, std } from "../metrics";
import type { RankResult } from "./ranking";

const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");

export function bySchemeOf(results: RankResult[]): Map<string, RankResult[]> {
  const out = new Map<string, RankResult[]>();
  for (const r of results) out.set(r.scheme, [...(out.get(r.scheme) ?? []), r]);
  return out;
}

const pAt = (r: RankResult) => Object.values(r.precisionAtK)[0];
const kOf = (r: RankResult) => Object.keys(r.precisionAtK)[0];

/** One row per scheme: mean ± sd over seeds of tau, rho and P@k. */
export function schemeSummaryRows(results: RankResult[]): Record<string, unknown>[] {
  return [...bySchemeOf(results)].map(([scheme, rs]) => {
    const taus = rs.map((r) => r.kendallTau), rhos = rs.map((r) => r.spearman), ps = rs.map(pAt);
    const sd = (xs: number[]) => (xs.length > 1 ? std(xs) : NaN);
    return {
      scheme,
      seeds: rs.length,
      "Kendall tau": mean(taus),
      "tau sd": sd(taus),
      "Spearman rho": mean(rhos),
      "rho sd": sd(rhos),
      [`P@${kOf(rs[0])}`]: mean(ps),
      "mean supernet loss": mean(rs.map((r) => r.meanSupernetLoss)),
      "s/step": mean(rs.map((r) => r.secondsPerStep)),
    };
  });
}

/** One row per (scheme, seed) with the bootstrap CIs over children. */
export function seedRows(results: RankResult[]): Record<string, unknown>[] {
  return results.map((r) => ({
    scheme: r.scheme,
    seed: r.seed,
    "Kendall tau": r.kendallTau,
    "tau 95% CI": `[${fmt(r.ci.kendallTau[0], 2)}, ${fmt(r.ci.kendallTau[1], 2)}]`,
    "Spearman rho": r.spearman,
    "rho 95% CI": `[${fmt(r.ci.spearman[0], 2)}, ${fmt(r.ci.spearman[1], 2)}]`,
    [`P@${kOf(r)}`]: pAt(r),
  }));
}

/** Paired comparison against `base`: per seed, tau(scheme) - tau(base); mean, sd and wins. */
export function pairedRows(results: RankResult[], base: string): Record<string, unknown>[] {
  const by = bySchemeOf(results);
  const baseBySeed = new Map((by.get(base) ?? []).map((r) => [r.seed, r.kendallTau]));
  return [...by].filter(([s]) => s !== base).map(([scheme, rs]) => {
    const diffs = rs.filter((r) => baseBySeed.has(r.seed)).map((r) => r.kendallTau - baseBySeed.get(r.seed)!);
    return {
      scheme: `${scheme} − ${base}`,
      "paired seeds": diffs.length,
      "mean Δtau": diffs.length ? mean(diffs) : NaN,
      "sd Δtau": diffs.length > 1 ? std(diffs) : NaN,
      wins: `${diffs.filter((d) => d > 0).length}/${diffs.length}`,
    };
  });
}

/** Bar chart of mean tau per scheme (error bars: sd over seeds) with each seed as a dot. */
export function tauBarFigure(results: RankResult[], title: string): PlotlyFigure {
  const by = [...bySchemeOf(results)];
  return {
    data: [
      {
        type: "bar",
        name: "mean over seeds",
        x: by.map(([s]) => s),
        y: by.map(([, rs]) => mean(rs.map((r) => r.kendallTau))),
        error_y: { type: "data", array: by.map(([, rs]) => (rs.length > 1 ? std(rs.map((r) => r.kendallTau)) : 0)) },
        opacity: 0.7,
      },
      {
        type: "scatter",
        mode: "markers",
        name: "one seed (bar: its 95% CI over children)",
        x: results.map((r) => r.scheme),
        y: results.map((r) => r.kendallTau),
        error_y: { type: "data", symmetric: false, array: results.map((r) => r.ci.kendallTau[1] - r.kendallTau), arrayminus: results.map((r) => r.kendallTau - r.ci.kendallTau[0]), thickness: 1, width: 3 },
        marker: { size: 7, color: "black" },
      },
    ],
    layout: { title: { text: title }, yaxis: { title: { text: "Kendall tau (supernet vs ground truth)" }, range: [-1, 1] } },
  };
}

/** Supernet estimate vs ground truth per child, one trace per scheme (first seed of each). */
export function scatterFigure(results: RankResult[]): PlotlyFigure {
  const firsts = [...bySchemeOf(results)].map(([, rs]) => rs[0]);
  return {
    data: firsts.map((r) => ({
      type: "scatter",
      mode: "markers",
      name: `${r.scheme} (seed ${r.seed}, tau ${fmt(r.kendallTau, 2)})`,
      x: r.children.map((c) => c.groundTruth),
      y: r.children.map((c) => c.supernet),
      text: r.children.map((c) => c.id),
    })),
    layout: {
      title: { text: "Supernet-inherited vs ground-truth validation loss, per child" },
      xaxis: { title: { text: "ground truth: trained from scratch (val MLM loss)" } },
      yaxis: { title: { text: "supernet estimate (val MLM loss)" } },
    },
  };
}

/** Live interference monitor per scheme: mean over seeds of the cosine at each logged step. */
export function monitorFigure(results: RankResult[]): PlotlyFigure {
  return {
    data: [...bySchemeOf(results)].map(([scheme, rs]) => {
      const bySteps = new Map<number, number[]>();
      for (const r of rs) for (const p of r.monitor) bySteps.set(p.step, [...(bySteps.get(p.step) ?? []), p.cosine]);
      const steps = [...bySteps.keys()].sort((a, b) => a - b);
      return { type: "scatter", mode: "lines+markers", marker: { size: 3 }, name: scheme, x: steps, y: steps.map((s) => mean(bySteps.get(s)!)) };
    }),
    layout: {
      title: { text: "Live interference: gradient cosine of consecutive children on their shared ops" },
      xaxis: { title: { text: "training step" } },
      yaxis: { title: { text: "cosine (mean over seeds)" } },
    },
  };
}

/** How often each (layer, op) was trained, for one result; opNames label the columns. */
export function coverageFigure(result: RankResult, opNames: string[]): PlotlyFigure {
  return {
    data: [{ type: "heatmap", z: result.coverage, x: opNames, y: result.coverage.map((_, l) => `layer ${l}`), colorscale: "Blues" }],
    layout: { title: { text: `Op coverage: ${result.scheme}, seed ${result.seed} (${result.steps} steps)` }, height: 360 },
  };
}

/** Flat rows of every child of every result, for CSV export and re-analysis. */
export function childRows(results: RankResult[]): Record<string, unknown>[] {
  return results.flatMap((r) => r.children.map((c) => ({ scheme: r.scheme, seed: r.seed, arch: c.id, params: c.params, supernet: c.supernet, groundTruth: c.groundTruth })));
}

export function toCsv(rows: Record<string, unknown>[]): string {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (typeof v === "string" && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v ?? ""));
  return [cols.join(","), ...rows.map((r) => cols.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}

/** "a > b > c" by mean tau, and whether it matches a claimed order. */
export function orderingVerdict(results: RankResult[], claimed: string[]): string {
  const means = [...bySchemeOf(results)].map(([s, rs]) => ({ s, tau: mean(rs.map((r) => r.kendallTau)) })).sort((a, b) => b.tau - a.tau);
  const ours = means.map((m) => `${m.s} (${fmt(m.tau, 2)})`).join(" > ");
  const ourOrder = means.map((m) => m.s).filter((s) => claimed.includes(s));
  const same = ourOrder.join(">") === claimed.join(">");
  return `Claimed by the paper: ${claimed.join(" > ")}. Measured (mean Kendall tau over seeds): ${ours}. ` +
    (same ? "**The claimed order is reproduced** (differences may still be within the seed spread; see the paired table)." : "**The claimed order is not reproduced.**");
}
