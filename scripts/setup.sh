#!/usr/bin/env bash
# Prepares this checkout: system packages the project needs, then .venv with the package installed.
# Usage: scripts/setup.sh [EXTRAS]   (EXTRAS as in pyproject, default "spark")
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-spark}"

apt_packages=()
# The shipped local Livy runs a real local SparkSession when Java 17+ is there.
command -v java >/dev/null 2>&1 || apt_packages+=(openjdk-17-jre-headless)
# The JupyterLab test drives a real browser; Playwright's own browser download is not reachable here.
if [[ ",${extras}," == *",test,"* ]] && [ ! -x /usr/bin/chromium ]; then
  apt_packages+=(chromium)
fi
# The kerberos extra compiles python-gssapi and krb5 against MIT Kerberos.
if [[ ",${extras}," == *",kerberos,"* ]]; then
  dpkg -s libkrb5-dev >/dev/null 2>&1 || apt_packages+=(libkrb5-dev)
  command -v gcc >/dev/null 2>&1 || apt_packages+=(gcc)
fi
# The Kerberos tests run a real MIT KDC (krb5kdc, kadmin.local) and use kinit as users do.
if [[ ",${extras}," == *",test,"* ]] && ! command -v krb5kdc >/dev/null 2>&1; then
  apt_packages+=(krb5-kdc krb5-admin-server krb5-user)
fi
# The registry tests also run on a real PostgreSQL server.
if [[ ",${extras}," == *",test,"* ]] && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  apt_packages+=(postgresql)
fi
# The tests also run Apache Livy, which scripts/apache-livy.sh builds from source with Maven (a JDK),
# inside a network namespace set up with ip(8).
if [[ ",${extras}," == *",test,"* ]]; then
  command -v javac >/dev/null 2>&1 || apt_packages+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null 2>&1 || apt_packages+=(maven)
  command -v ip >/dev/null 2>&1 || apt_packages+=(iproute2)
fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${apt_packages[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${apt_packages[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
.venv/bin/pip install -q -e ".[${extras}]"
