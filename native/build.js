// Builds the OpenBLAS addon (native/build/Release/magic_native.node) with the node-gyp that npm bundles.
// Never fails the install: without a compiler, OpenBLAS or node headers it says why and exits 0, and
// backend selection (lib/backend.ts) then falls back to wasm.
"use strict";
const { execFileSync, spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const here = __dirname;

function skip(reason) {
  console.warn(`[native] addon not built: ${reason}. The 'native' tfjs backend is unavailable; wasm is used instead.`);
  console.warn("[native] to enable it: apt-get install build-essential libopenblas-dev pkg-config, then `node native/build.js`.");
  process.exit(0);
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

if (process.env.MAGIC_SKIP_NATIVE_BUILD) skip("MAGIC_SKIP_NATIVE_BUILD is set");
if (!has("cc", ["--version"])) skip("no C compiler (cc) on PATH");
if (!has("make", ["--version"])) skip("no make on PATH");
if (!has("pkg-config", ["--exists", "openblas"])) skip("pkg-config cannot find openblas (Debian: libopenblas-dev, pkg-config)");
const gyp = findNodeGyp();
if (!gyp) skip("node-gyp not found (it ships with npm)");

const result = spawnSync(process.execPath, [gyp, "rebuild", "-C", here, ...nodedirArgs()], { stdio: "inherit" });
if (result.status !== 0) skip(`node-gyp exited with status ${result.status} (see the log above)`);
console.log(`[native] built ${path.join(here, "build/Release/magic_native.node")}`);
