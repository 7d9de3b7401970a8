// Reference rank statistics for the ranking tests, written from the textbook definitions and sharing no code
// with lib/metrics.ts (ties counted by value groups, ranks by counting), so that a bug there, or in the CSV
// export, cannot cancel out against itself.
import assert from "node:assert/strict";

/** Number of pairs among n items. */
const pairsOf = (n: number) => (n * (n - 1)) / 2;

/** Sum over groups of equal values of the pairs inside the group (the pairs tied in `x`). */
function tiedPairs(x: number[]): number {
  const groups = new Map<number, number>();
  for (const v of x) groups.set(v, (groups.get(v) ?? 0) + 1);
  return [...groups.values()].reduce((sum, size) => sum + pairsOf(size), 0);
}

/** Kendall tau-b = (C - D) / sqrt((n0 - n1) (n0 - n2)), n0 all pairs, n1 and n2 the pairs tied in x and in y. */
export function referenceKendallTau(x: number[], y: number[]): number {
  let concordant = 0, discordant = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      if ((x[i] < x[j] && y[i] < y[j]) || (x[i] > x[j] && y[i] > y[j])) concordant++;
      else if ((x[i] < x[j] && y[i] > y[j]) || (x[i] > x[j] && y[i] < y[j])) discordant++;
    }
  }
  const n0 = pairsOf(x.length);
  return (concordant - discordant) / Math.sqrt((n0 - tiedPairs(x)) * (n0 - tiedPairs(y)));
}

/** Spearman rho: Pearson correlation of the average ranks (1 + smaller values + half the other equal ones). */
export function referenceSpearman(x: number[], y: number[]): number {
  const rank = (v: number[]) => v.map((a) => 1 + v.filter((b) => b < a).length + (v.filter((b) => b === a).length - 1) / 2);
  const rx = rank(x), ry = rank(y);
  const mean = (v: number[]) => v.reduce((s, a) => s + a, 0) / v.length;
  const mx = mean(rx), my = mean(ry);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < rx.length; i++) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) ** 2;
    syy += (ry[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/** Rows of a CSV as objects; only for files without quoted fields (ids, scheme names and numbers). */
export function parseCsv(text: string): Record<string, string>[] {
  assert.ok(!text.includes('"'), "parseCsv reads unquoted CSV only");
  const [header, ...rows] = text.trim().split("\n").map((line) => line.split(","));
  return rows.map((row) => Object.fromEntries(header.map((name, i) => [name, row[i]])));
}

/** The per-child values and statistics of one (scheme, seed) run, as lib/experiments/ranking.ts reports them. */
export interface RankedRun {
  scheme: string;
  seed: number;
  children: { id: string; supernet: number; groundTruth: number }[];
  kendallTau: number;
  spearman: number;
}

/** Asserts that each run's tau and rho equal the reference statistics of its rows in `csv` (per-child values). */
export function assertStatsMatchCsv(runs: RankedRun[], csv: string, what: string): void {
  // A run can appear in more than one table of a notebook (e.g. the first seed of an ablation): one row per child.
  const rows = [...new Map(parseCsv(csv).map((r) => [`${r.scheme}/${r.seed}/${r.arch}`, r])).values()];
  for (const run of runs) {
    const mine = rows.filter((r) => r.scheme === run.scheme && Number(r.seed) === run.seed);
    const label = `${what}: ${run.scheme} seed ${run.seed}`;
    assert.deepEqual(mine.map((r) => r.arch), run.children.map((c) => c.id), `${label}: the CSV lists the run's children`);
    const supernet = mine.map((r) => Number(r.supernet)), groundTruth = mine.map((r) => Number(r.groundTruth));
    assert.ok(Math.abs(referenceKendallTau(supernet, groundTruth) - run.kendallTau) < 1e-12, `${label}: tau ${run.kendallTau}`);
    assert.ok(Math.abs(referenceSpearman(supernet, groundTruth) - run.spearman) < 1e-12, `${label}: rho ${run.spearman}`);
  }
}
