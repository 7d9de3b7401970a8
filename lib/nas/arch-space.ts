// Children of any search space, from its ArchSpace (lib/nas/types.ts) alone: random, largest and smallest
// children. The draws are the ones the BERT space always made (one rng.int(choices) per layer, in order), so
// BERT probe children, anchors and ground-truth draws are unchanged.
import type { Arch, ArchSpace } from "./types";
import type { Rng } from "../rng";

/** A uniformly random child: each layer's choice uniform over that layer's choices. */
export function randomChild(space: ArchSpace, rng: Rng): Arch {
  return space.choices.map((n) => rng.int(n));
}

/** Per layer the choice with the most parameters (`largest`) or the fewest; the first on ties. */
function extremeChild(space: ArchSpace, largest: boolean): Arch {
  return space.choices.map((n, l) => {
    let best = 0;
    for (let k = 1; k < n; k++) {
      const p = space.opParams(l, k), q = space.opParams(l, best);
      if (largest ? p > q : p < q) best = k;
    }
    return best;
  });
}

/** The child with the most parameters (per layer the largest op; the first on ties). */
export function largestChild(space: ArchSpace): Arch {
  return extremeChild(space, true);
}

/** The child with the fewest parameters (per layer the smallest op; the first on ties; identity where offered). */
export function smallestChild(space: ArchSpace): Arch {
  return extremeChild(space, false);
}

/** The op families of the space in order of first appearance (layer by layer, choice by choice). */
export function opFamilies(space: ArchSpace): string[] {
  const seen = new Set<string>();
  space.choices.forEach((n, l) => {
    for (let k = 0; k < n; k++) seen.add(space.opFamily(l, k));
  });
  return [...seen];
}

/**
 * Throws unless `arch` is a child of `space` and, for a standalone model (`only`: the one child it holds the
 * weights of), that child: both supernets (BERT and CNN) check every arch they are given with it.
 */
export function checkModelArch(space: ArchSpace, only: Arch | undefined, arch: Arch): void {
  space.validate(arch);
  if (only && arch.some((k, l) => k !== only[l])) {
    throw new Error(`standalone model of [${only}] got arch [${arch}]; pass its own arch (model.only)`);
  }
}

/**
 * `block`, the weights of the op `arch` picks at `layer`, or the error of a model that does not hold them: an
 * invalid arch names what is wrong with it, a valid one names the standalone model's own child.
 */
export function ownBlock<T>(space: ArchSpace, only: Arch | undefined, arch: Arch, layer: number, block: T | null | undefined): T {
  if (block) return block;
  space.validate(arch);
  throw new Error(`standalone model of [${only}] has no op ${arch[layer]} at layer ${layer}; pass its own arch`);
}
