// Notebook 03's mechanism check: does MAGIC-A make a shared op's inputs and outputs more similar across
// children, and their gradients less conflicting? The same pair protocol as experiment 01, measured on
// the final supernets of two schemes (e.g. uniform vs magic-a) with the same seed and the same pairs.
import type { MlmData } from "../data";
import { mean } from "../metrics";
import type { PairResult } from "../interference";
import { measureCells } from "./interference";
import { trainScheme, type RankConfig } from "./ranking";
import type { GroundTruthTable } from "./ground-truth";

export interface IoSimilarity {
  scheme: string;
  seed: number;
  pairs: PairResult[];
  inputCosine: number;
  outputCosine: number;
  gradCosine: number;
}

/** Measures `pairsPerCell` pairs per (layer, k) on each scheme's trained supernet (trained here if needed). */
export async function ioSimilarity(config: RankConfig, schemes: string[], seed: number, pairsPerCell: number, data: MlmData, gt: GroundTruthTable): Promise<IoSimilarity[]> {
  const out: IoSimilarity[] = [];
  for (const scheme of schemes) {
    const { model, validation, release } = await trainScheme(config, scheme, seed, data, gt);
    const pairs = await measureCells(model, validation, pairsPerCell, seed, config.steps); // same draws for every scheme
    release();
    out.push({
      scheme,
      seed,
      pairs,
      inputCosine: mean(pairs.map((p) => p.inputCosine)),
      outputCosine: mean(pairs.map((p) => p.outputCosine)),
      gradCosine: mean(pairs.map((p) => p.gradCosine)),
    });
  }
  return out;
}
