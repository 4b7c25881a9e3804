#!/usr/bin/env bash
# Sets up the checkout and starts JupyterLab with the Spark broker (embedded local Livy by default).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh spark,lab
exec .venv/bin/jupyter lab --allow-root --no-browser "$@"
