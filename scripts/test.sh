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
apache_jar="$(scripts/apache-livy.sh home)/livy/jars/livy-server-0.9.0-incubating.jar"
if [ -f "$apache_jar" ] || [ -n "${APACHE_LIVY_DIST:-}" ]; then
  scripts/apache-livy.sh prepare \
    || echo "test.sh: preparing Apache Livy failed (above); the [apache] variants will be skipped" >&2
else  # one line: the variants are skipped, and how to run them
  echo "test.sh: [apache] variants skipped, Apache Livy is not prepared; to run them: APACHE_LIVY_DIST=<apache-livy-0.9.0-incubating_2.12-bin.zip built by hand from Livy's source> scripts/test.sh -k apache" >&2
fi
exec unshare --net -- bash -c 'ip link set lo up && exec .venv/bin/python -m pytest "$@"' test.sh "$@"
