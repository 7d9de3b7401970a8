// Builds the OpenBLAS addon (native/build/Release/magic_native.node) with the node-gyp that npm bundles, and
// records how and where (native/build/build-info.json): the sources' hash, the compiler and its flags, the node
// ABI, and the CPU's model and feature flags. `-march=native` ties the binary to CPUs with those features
// (elsewhere it can die with SIGILL), so lib/native/addon.ts refuses to load a build whose CPU features this
// machine lacks, and `--check` (scripts/setup.sh) reports a build that no longer matches.
//
//   node native/build.js           build; also the npm `postinstall` script
//   node native/build.js --check   exit 0 when the build is current for these sources and this machine, else
//                                  say why and exit 1
//
// A build that cannot be made fails (exit 1, naming the cause and the fix), so that `npm ci`, the setup and CI
// stop instead of going on with every native test skipped. MAGIC_ALLOW_NO_NATIVE=1 opts out: the failure is
// reported, the exit code is 0, and backend selection (lib/backend.ts) falls back to wasm.
// MAGIC_SKIP_NATIVE_BUILD=1 does not try at all (exit 0); the native tests then fail unless
// MAGIC_ALLOW_NO_NATIVE=1 is set too.
"use strict";
const { execFileSync, execSync, spawnSync } = require("child_process");
const crypto = require("crypto");
const fs = require("fs");
const os = require("os");
const path = require("path");

const here = __dirname;
const addonFile = path.join(here, "build/Release/magic_native.node");
const infoFile = path.join(here, "build/build-info.json");
const INSTALL = "apt-get install build-essential libopenblas-dev pkg-config (or run `bash scripts/setup.sh`)";

/** Set and not "0": the same reading as test/helpers/native.ts. */
function optedOut() {
  const v = process.env.MAGIC_ALLOW_NO_NATIVE;
  return v !== undefined && v !== "" && v !== "0";
}

function fail(cause, fix) {
  console.error(`[native] the native addon was not built: ${cause}.`);
  console.error(`[native] to fix: ${fix}; then run \`node native/build.js\` (or the setup) again.`);
  if (optedOut()) {
    console.error("[native] MAGIC_ALLOW_NO_NATIVE is set: going on without it; the wasm backend (several times slower) was chosen.");
    process.exit(0);
  }
  console.error("[native] to go on without it, on the wasm backend (several times slower), set MAGIC_ALLOW_NO_NATIVE=1.");
  process.exit(1);
}

function has(cmd, args) {
  return spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
}

/** npm bundles node-gyp but does not put it on PATH outside lifecycle scripts: look in both places. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  try {
    const npmCli = execFileSync("npm", ["root", "-g"], { encoding: "utf8" }).trim();
    candidates.push(path.join(npmCli, "npm/node_modules/node-gyp/bin/node-gyp.js"));
  } catch {}
  candidates.push(path.join(path.dirname(process.execPath), "../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"));
  try {
    candidates.push(require.resolve("node-gyp/bin/node-gyp.js"));
  } catch {}
  return candidates.find((p) => fs.existsSync(p));
}

/** Node headers: a local install (Debian's nodejs-dev puts them in /usr/include/node) avoids a download. */
function nodedirArgs() {
  const fromNpm = process.env.npm_config_nodedir;
  if (fromNpm) return [`--nodedir=${fromNpm}`];
  const prefix = path.resolve(path.dirname(process.execPath), "..");
  return fs.existsSync(path.join(prefix, "include/node/node_api.h")) ? [`--nodedir=${prefix}`] : [];
}

/**
 * The CPU's feature flags ("flags" on x86, "Features" on arm64, from the first processor of /proc/cpuinfo),
 * sorted and space-separated, or null where there is no /proc/cpuinfo. lib/native/addon.ts reads them the
 * same way.
 */
function cpuFeatures() {
  try {
    const m = /^(?:flags|Features)\s*:(.*)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"));
    return m ? m[1].trim().split(/\s+/).sort().join(" ") : null;
  } catch {
    return null;
  }
}

/** binding.gyp's flags with their `<!@(command)` parts expanded, as node-gyp passes them. */
function gypFlags(key) {
  const target = JSON.parse(fs.readFileSync(path.join(here, "binding.gyp"), "utf8")).targets[0];
  return (target[key] ?? []).flatMap((flag) => {
    const m = /^<!@\((.*)\)$/.exec(flag);
    if (!m) return [flag];
    try {
      return execSync(m[1], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split(/\s+/).filter(Boolean);
    } catch {
      return [`${flag} (failed)`];
    }
  });
}

/** What a build depends on, as recorded in build-info.json and compared by --check. */
function currentInfo() {
  const hash = crypto.createHash("sha256");
  const src = path.join(here, "src");
  for (const name of ["binding.gyp", ...fs.readdirSync(src).sort().map((f) => path.join("src", f))]) {
    hash.update(`${name}\0`).update(fs.readFileSync(path.join(here, name)));
  }
  const cc = spawnSync("cc", ["--version"], { encoding: "utf8" });
  return {
    sources: hash.digest("hex"),
    cflags: gypFlags("cflags"),
    libraries: gypFlags("libraries"),
    cc: cc.status === 0 ? cc.stdout.split("\n")[0].trim() : null,
    node: { abi: process.versions.modules, napi: process.versions.napi },
    cpu: { model: os.cpus()[0]?.model ?? null, features: cpuFeatures() },
  };
}

/** Why the recorded build no longer matches `now`, or null when it does. */
function staleness(recorded, now) {
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  if (recorded.sources !== now.sources) return "native/src or binding.gyp changed since the build";
  if (!same(recorded.cflags, now.cflags) || !same(recorded.libraries, now.libraries)) return "the compiler flags changed (binding.gyp, pkg-config openblas)";
  if (recorded.cc !== now.cc) return `the compiler changed (built with ${recorded.cc}, now ${now.cc})`;
  if (!same(recorded.node, now.node)) return `the node ABI changed (built for ${JSON.stringify(recorded.node)}, now ${JSON.stringify(now.node)})`;
  if (recorded.cpu?.model !== now.cpu.model) return `the CPU changed (built on ${recorded.cpu?.model}, now ${now.cpu.model})`;
  if (recorded.cpu?.features !== now.cpu.features) return "the CPU's feature flags changed since the build (-march=native)";
  return null;
}

function check() {
  if (!fs.existsSync(addonFile)) return "not built yet";
  let recorded;
  try {
    recorded = JSON.parse(fs.readFileSync(infoFile, "utf8"));
  } catch {
    return `no build record (${path.relative(process.cwd(), infoFile)})`;
  }
  return staleness(recorded, currentInfo());
}

if (process.argv.includes("--check")) {
  const why = check();
  if (why) console.log(`[native] the addon needs a build: ${why}`);
  process.exit(why ? 1 : 0);
}

if (process.env.MAGIC_SKIP_NATIVE_BUILD) {
  console.warn("[native] MAGIC_SKIP_NATIVE_BUILD is set: not building the addon (`node native/build.js` builds it).");
  process.exit(0);
}
if (!has("cc", ["--version"])) fail("no C compiler (cc) on PATH", INSTALL);
if (!has("make", ["--version"])) fail("no make on PATH", INSTALL);
if (!has("pkg-config", ["--exists", "openblas"])) fail("pkg-config cannot find openblas", INSTALL);
const gyp = findNodeGyp();
if (!gyp) fail("node-gyp not found (it ships with npm)", "install npm (it bundles node-gyp) or `npm install -g node-gyp`");

const result = spawnSync(process.execPath, [gyp, "rebuild", "-C", here, ...nodedirArgs()], { stdio: "inherit" });
if (result.status !== 0) {
  fail(`node-gyp exited with status ${result.status}`, `read the errors above (a missing header or library: ${INSTALL})`);
}
try {
  require(addonFile).blasConfig();
} catch (e) {
  fail(`the built addon does not load (${String(e.message).split("\n")[0]})`, "check that libopenblas is installed for the runtime linker");
}
const record = { ...currentInfo(), nodeVersion: process.version, builtAt: new Date().toISOString() }; // the last two: for people
fs.writeFileSync(infoFile, `${JSON.stringify(record, null, 2)}\n`);
console.log(`[native] built ${addonFile} (build record: ${infoFile})`);
