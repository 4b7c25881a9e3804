#!/usr/bin/env bash
# Sets up the checkout and runs the whole test suite (including the real pyspark session test).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh spark,connect,lab,test,kerberos,postgresql
exec .venv/bin/python -m pytest "$@"
