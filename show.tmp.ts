import * as fs from "node:fs";
import * as v from "./lib/experiments/interference-views";
const r = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const c = r.checkpoints[0];
console.log(v.verdicts(r)); console.log(v.keyLine(r));
console.table(v.intervalRows(c)); console.table(v.withinKRows(c)); console.table(v.partialRows(c)); console.table(v.schemeRows(r)); console.table(v.unitRows(r));
