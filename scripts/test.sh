#!/usr/bin/env bash
# Sets up the checkout and runs the whole test suite (including the real pyspark session test and
# the tests that run on both the local Livy and Apache Livy).
#
# Every step that needs the package registries runs first. The tests then run in a network namespace
# of their own with only loopback: Spark drivers advertise whatever address they detect, and nothing
# a test starts may reach anything but this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh spark,connect,lab,test,kerberos,postgresql,docs
if ! scripts/apache-livy.sh prepare; then
  echo "test.sh: Apache Livy could not be prepared (above); its test variants will be skipped" >&2
fi
exec unshare --net -- bash -c 'ip link set lo up && exec .venv/bin/python -m pytest "$@"' test.sh "$@"
