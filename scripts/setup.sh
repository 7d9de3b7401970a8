#!/usr/bin/env bash
# Sets up what is missing, and nothing else (safe to run again):
#   1. Debian/Ubuntu packages (Jupyter for the tslab kernel, OpenBLAS and a compiler for the native backend,
#      Chromium, MathJax and zip for the reports, redis-server for the optional job queue, Fashion-MNIST for the
#      CNN space), through apt when run as root or with password-less sudo; otherwise prints the command and
#      stops. Redis is installed, not run: a service it starts is stopped and disabled (README, "Many machines",
#      says how to run it; the tests start their own).
#   2. npm packages (`npm ci`) when package-lock.json changed since the last install.
#   3. the native OpenBLAS backend (when missing or older than its sources) and the compiled library (dist/).
#   4. the tslab Jupyter kernel, registered in the project (.jupyter/), so nothing global is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# libjs-mathjax: the reports' offline MathJax; zip: `npm run reproduce -- --bundle`; chromium: figures and browser tests;
# dataset-fashion-mnist: the full Fashion-MNIST (60k/10k, gzipped IDX in /usr/share/datasets/fashion-mnist, 31 MB) for
# the CNN space's small preset (lib/data/images.ts; without it the committed 12k/2k subset in data/fashion-mnist is used).
APT_PACKAGES=(jupyter-nbconvert python3-nbclient python3-ipykernel jupyter-client jupyter-notebook
  libopenblas-dev pkg-config g++ make chromium libjs-mathjax zip redis-server dataset-fashion-mnist)

say() { printf '[setup] %s\n' "$*"; }

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
else
  missing=("${APT_PACKAGES[@]}")
fi
if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null 2>&1; then
    say "this is not a Debian/Ubuntu system; install the equivalents of: ${missing[*]}"
    say "(Jupyter with nbconvert, nbclient and ipykernel for /usr/bin/python3; OpenBLAS headers; pkg-config; a C++ compiler)"
    exit 1
  fi
  if [ "$(id -u)" = 0 ]; then SUDO=(); elif sudo -n true 2>/dev/null; then SUDO=(sudo); else
    say "missing system packages; run this once, then re-run this script:"
    say "  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
  say "installing system packages: ${missing[*]}"
  "${SUDO[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [[ " ${missing[*]} " == *" redis-server "* ]] && command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet redis-server 2>/dev/null; then
    say "redis-server: installed, not run as a service (disabling the one the package enabled)"
    "${SUDO[@]}" systemctl disable --now redis-server >/dev/null 2>&1 || true
  fi
fi
/usr/bin/python3 -c "import nbclient, nbconvert, ipykernel" 2>/dev/null || {
  say "/usr/bin/python3 cannot import nbclient/nbconvert/ipykernel although the packages are installed"; exit 1; }

lock_hash=$(sha1sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.magic-lock-hash ] || [ "$(cat node_modules/.magic-lock-hash)" != "$lock_hash" ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
  echo "$lock_hash" > node_modules/.magic-lock-hash
fi

# Rebuilt when missing or when its build record (native/build/build-info.json) no longer matches: sources,
# compiler, flags, node ABI, or the CPU (-march=native code can die with SIGILL on another one). A failed build
# stops the setup unless MAGIC_ALLOW_NO_NATIVE=1 (see native/build.js).
if ! node native/build.js --check; then
  say "building the native OpenBLAS backend (native/)"
  node native/build.js
fi

say "compiling the library (dist/)"
node_modules/.bin/tsc -p tsconfig.build.json

kernel=.jupyter/share/jupyter/kernels/tslab/kernel.json
if ! grep -q "\"$ROOT/node_modules/.bin/tslab\"" "$kernel" 2>/dev/null; then
  say "registering the tslab kernel in $ROOT/.jupyter"
  node_modules/.bin/tslab install --python=/usr/bin/python3 --binary="$ROOT/node_modules/.bin/tslab" --prefix="$ROOT/.jupyter" >/dev/null
fi
say "ready ($(node -e 'console.log(process.version)'), kernel: $kernel)"
