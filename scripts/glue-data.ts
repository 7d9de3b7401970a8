// Builds data/glue/ from the read-only copies in ../shared/data (or the folder given as argument): copies
// each task's files byte for byte (QNLI: the SQuAD subset it is derived from), except the two largest train
// files, of which it keeps a seeded subset of whole lines in file order (header kept), so the repository
// stays small. Deterministic: rerunning it writes identical files. data/glue/README.md documents the result.
//
//   npx tsx scripts/glue-data.ts [source folder, default ../shared/data]
import * as fs from "node:fs";
import * as path from "node:path";
import { GLUE_DIR } from "../lib/data/glue";
import { Rng, seedFrom } from "../lib/rng";
import { writeFileAtomic } from "../lib/atomic-write";

/** Seed of the subsets (our choice). */
const SUBSET_SEED = 12;

/** Files copied whole (source under the shared folder -> file under data/glue), and files cut to a seeded subset of `keep` data lines. */
const COPIES: [string, string][] = [
  ...["SST-2/dev.tsv", "MRPC/msr_paraphrase_train.txt", "STS-B/train.tsv", "STS-B/dev.tsv", "STS-B/LICENSE.txt", "RTE/train.tsv", "RTE/dev.tsv", "RTE/test.tsv", "CoLA/train.tsv"]
    .map((f): [string, string] => [`glue/${f}`, f]),
  ["squad/squad-v2-dev-subset.json", "QNLI/squad-v2-dev-subset.json"],
];
const SUBSETS = [
  { file: "SST-2/train.tsv", header: true, keep: 20_000 },
  { file: "QQP/pairs.tsv", header: false, keep: 12_000 },
];

/** `keep` of the lines, chosen by a seeded shuffle, in their original order. */
function subset(lines: string[], keep: number, seed: number): string[] {
  return new Rng(seed)
    .shuffle(lines.map((_, i) => i)).slice(0, keep).sort((a, b) => a - b).map((i) => lines[i]);
}

function main(): void {
  const source = path.resolve(process.argv[2] ?? path.join(__dirname, "..", "..", "shared", "data"));
  if (!fs.existsSync(source)) throw new Error(`${source} does not exist; pass the shared data folder (holding glue/ and squad/)`);
  for (const [from, file] of COPIES) {
    fs.mkdirSync(path.dirname(path.join(GLUE_DIR, file)), { recursive: true });
    fs.copyFileSync(path.join(source, from), path.join(GLUE_DIR, file));
    fs.chmodSync(path.join(GLUE_DIR, file), 0o644); // the shared copies are read-only
    console.log(`copied ${from} -> ${file}`);
  }
  SUBSETS.forEach(({ file, header, keep }, k) => {
    const text = fs.readFileSync(path.join(source, "glue", file), "utf8");
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    const head = header ? lines.slice(0, 1) : [];
    const body = header ? lines.slice(1) : lines;
    const kept = subset(body, keep, seedFrom(SUBSET_SEED, k));
    fs.mkdirSync(path.dirname(path.join(GLUE_DIR, file)), { recursive: true });
    writeFileAtomic(path.join(GLUE_DIR, file), [[...head, ...kept].join("\n") + "\n"]);
    console.log(`${file}: kept ${kept.length} of ${body.length} lines (seed ${SUBSET_SEED}, stream ${k})`);
  });
}

main();
