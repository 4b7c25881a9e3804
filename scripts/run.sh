#!/usr/bin/env bash
# Sets up the checkout and starts JupyterLab with the Spark broker (embedded local Livy by default).
# Notebooks live in $SPARK_BROKER_NOTEBOOKS (default ~/notebooks), not in this source checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
# Sets up only on the first run or after pyproject.toml, package.json or the extras changed
# (scripts/setup.sh --if-needed): later starts need no network and take seconds.
scripts/setup.sh --if-needed spark,connect,lab
notebooks="${SPARK_BROKER_NOTEBOOKS:-$HOME/notebooks}"
mkdir -p "$notebooks"
echo "run: starting JupyterLab (notebooks in $notebooks)…"
# Kernel websockets without Nagle's delay: about 40 ms less per cell (benchmarks/README.md).
exec .venv/bin/jupyter lab --allow-root --no-browser \
  --ServerApp.root_dir="$notebooks" \
  --ServerApp.kernel_websocket_connection_class=jupyter_spark_broker.server.websocket.NoDelayKernelConnection \
  "$@"
