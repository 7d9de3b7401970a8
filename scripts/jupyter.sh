#!/usr/bin/env bash
# Opens the notebooks in Debian's classic Jupyter Notebook with this project's tslab kernel.
# The server runs at the repository root so notebooks can import ../dist/lib and plots can load
# plotly.js from node_modules (see PLOTLY_SERVER_PATH in lib/display.ts). Extra arguments go to jupyter.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f .jupyter/share/jupyter/kernels/tslab/kernel.json ]; then
  echo "no tslab kernel in .jupyter/: run 'npm run setup' first" >&2
  exit 1
fi
echo "building dist/ (tsc -p tsconfig.build.json)"
node_modules/.bin/tsc -p tsconfig.build.json
export JUPYTER_PATH="$PWD/.jupyter/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
root=()
[ "$(id -u)" = 0 ] && root=(--allow-root) # containers often run as root; jupyter refuses that by default
exec /usr/bin/jupyter notebook --notebook-dir="$PWD" "${root[@]}" "$@"
