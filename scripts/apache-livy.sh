#!/usr/bin/env bash
# Apache Livy 0.9.0-incubating on this machine: the real server the tests and benchmarks compare with.
#
#   scripts/apache-livy.sh prepare          assemble it into the cache folder (re-runs reuse it)
#   scripts/apache-livy.sh run --port PORT  run it in the foreground on 127.0.0.1, Spark local[*];
#                                           SIGTERM stops it and every Spark driver it started
#   scripts/apache-livy.sh home             print the cache folder (LIVY_HOME, SPARK_HOME inside)
#
# run listens on 127.0.0.1 unless APACHE_LIVY_HOST says otherwise (the docker/ image: 0.0.0.0).
#
# Cache folder: $APACHE_LIVY_HOME, default ~/.cache/jupyter-spark-broker/apache-livy-0.9.0, holding
#   livy/     LIVY_HOME as Livy's own assembly lays it out (jars, rsc-jars, repl_2.12-jars, conf)
#   pyspark/  a venv with pip's pyspark 3.5.x; its package folder is SPARK_HOME (Scala 2.12 jars,
#             bin/spark-submit). Not pyspark 4: Scala 2.13, and Livy 0.9.0 has no 2.13 REPL.
#
# Where Livy's jars come from. Maven Central has no Livy interactive REPL jar (livy-repl_2.12) in any
# version (checked 2026-12-02: 0.7.0 to 0.9.0 refused), and an interactive session needs it, so
# `prepare` cannot assemble a working Livy from Maven Central alone. It installs Apache's binary
# release instead, from $APACHE_LIVY_DIST: the release's apache-livy-0.9.0-incubating_2.12-bin.zip
# (from Apache's download site, which this machine cannot reach) or that zip unpacked. Without it,
# `prepare` says so and fails, and the tests' Apache Livy variants are skipped with that reason.
set -euo pipefail

LIVY_VERSION=0.9.0-incubating
PYSPARK_SPEC='pyspark>=3.5,<3.6'
repo="$(cd "$(dirname "$0")/.." && pwd)"
home="${APACHE_LIVY_HOME:-$HOME/.cache/jupyter-spark-broker/apache-livy-0.9.0}"
livy_home="$home/livy"
venv="$home/pyspark"

say() { echo "apache-livy: $*" >&2; }
die() { say "$*"; exit 1; }

spark_home() {
  "$venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'
}

# --- prepare -------------------------------------------------------------------------------------

install_release() {
  local dist="${APACHE_LIVY_DIST:-}"
  [ -n "$dist" ] && [ -e "$dist" ] || die "Apache Livy $LIVY_VERSION is not here, and cannot be
  assembled from Maven Central: it has no livy-repl_2.12 jar (the interactive REPL) in any version.
  Set APACHE_LIVY_DIST to Apache's binary release (apache-livy-${LIVY_VERSION}_2.12-bin.zip, or that
  zip unpacked) and run prepare again."
  rm -rf "$livy_home.new" && mkdir -p "$livy_home.new"
  if [ -d "$dist" ]; then
    cp -a "$dist/." "$livy_home.new/"
  else
    (cd "$livy_home.new" && python3 -m zipfile -e "$dist" .)
  fi
  # The zip has one top folder.
  local top
  top="$(find "$livy_home.new" -maxdepth 2 -name jars -type d -printf '%h\n' | head -1)"
  [ -n "$top" ] && [ -f "$top/jars/livy-server-$LIVY_VERSION.jar" ] \
    || die "$dist is not Apache Livy $LIVY_VERSION's binary release (no jars/livy-server-$LIVY_VERSION.jar)"
  rm -rf "$livy_home" && mv "$top" "$livy_home" && rm -rf "$livy_home.new"
  chmod +x "$livy_home"/bin/* 2>/dev/null || true
}

prepare() {
  mkdir -p "$home"
  if [ -f "$livy_home/jars/livy-server-$LIVY_VERSION.jar" ] && [ -d "$livy_home/repl_2.12-jars" ]; then
    say "Livy $LIVY_VERSION already in $livy_home"
  else
    install_release
  fi
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  if ! "$venv/bin/python" -c 'import pyspark, sys; sys.exit(not pyspark.__version__.startswith("3.5."))' 2>/dev/null; then
    say "installing $PYSPARK_SPEC into $venv (Livy's SPARK_HOME)"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q "$PYSPARK_SPEC"
  fi
  local spark
  spark="$(spark_home)"
  # pip's pyspark has no conf/ folder; spark-submit reads spark-defaults.conf there.
  mkdir -p "$spark/conf"
  say "ready: LIVY_HOME=$livy_home SPARK_HOME=$spark ($("$venv/bin/python" -c 'import pyspark; print(pyspark.__version__)'))"
}

# --- run -----------------------------------------------------------------------------------------

write_conf() {  # $1: conf folder, $2: port
  cat >"$1/livy.conf" <<EOF
livy.server.host = ${APACHE_LIVY_HOST:-127.0.0.1}
livy.server.port = $2
livy.spark.master = local[*]
livy.spark.scala-version = 2.12
livy.repl.enable-hive-context = false
livy.rsc.launcher.address = 127.0.0.1
livy.server.session.timeout = 1h
# A driver has this long to call back: on 2 busy cores several starting at once take minutes.
livy.rsc.server.connect.timeout = 300s
EOF
  cat >"$1/log4j.properties" <<'EOF'
log4j.rootCategory=INFO, console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.target=System.err
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
log4j.logger.org.eclipse.jetty=WARN
EOF
}

run() {
  local port=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) port="$2"; shift 2 ;;
      --port=*) port="${1#--port=}"; shift ;;
      *) die "unknown option $1 (usage: run --port PORT)" ;;
    esac
  done
  [[ "$port" =~ ^[0-9]+$ ]] || die "run needs --port PORT"
  [ -f "$livy_home/jars/livy-server-$LIVY_VERSION.jar" ] || die "not prepared: run '$0 prepare' first"
  local spark conf
  spark="$(spark_home)"
  conf="$(mktemp -d "${TMPDIR:-/tmp}/apache-livy-$port.XXXXXX")"
  write_conf "$conf" "$port"

  mkdir -p "$conf/logs"  # its request log
  export LIVY_HOME="$livy_home" LIVY_CONF_DIR="$conf" LIVY_LOG_DIR="$conf/logs" SPARK_HOME="$spark"
  # Sessions: the venv's Python runs pyspark; pip's pyspark has no python/lib/*.zip, so Livy is told
  # where pyspark is importable from instead. Drivers bind and advertise loopback only.
  export PYSPARK_PYTHON="$venv/bin/python" PYSPARK_ARCHIVES_PATH="$("$venv/bin/python" -c \
    'import os, pyspark; print(os.path.dirname(os.path.dirname(pyspark.__file__)))')"
  export SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_HOSTNAME=localhost
  unset PYTHONPATH SPARK_CONF_DIR

  local opts="-XX:+IgnoreUnrecognizedVMOptions"  # Java 17: the list of Livy's own bin/livy-server
  for p in java.lang.invoke java.lang java.nio java.util.concurrent.atomic sun.nio.ch java.net java.io \
    sun.util.calendar; do opts+=" --add-opens=java.base/$p=ALL-UNNAMED"; done
  for p in sun.net.dns sun.net.util sun.security.x509 sun.security.util; do
    opts+=" --add-exports=java.base/$p=ALL-UNNAMED"; done

  # Its own process group, so that a stop also reaches the spark-submit drivers it started (and
  # their Python interpreters), even those whose parent has already gone.
  # shellcheck disable=SC2086
  setsid java $opts ${LIVY_SERVER_JAVA_OPTS:-} -cp "$livy_home/jars/*:$conf" \
    org.apache.livy.server.LivyServer &
  local livy=$!
  stop() {
    trap - TERM INT
    kill -TERM "$livy" 2>/dev/null || true
    # Livy stops its sessions in its shutdown hook; give it a while, then end the whole group.
    (sleep 20 && kill -KILL -- "-$livy") 2>/dev/null &
    local guard=$!
    wait "$livy" 2>/dev/null || true
    kill "$guard" 2>/dev/null || true
    kill -KILL -- "-$livy" 2>/dev/null || true
    rm -rf "$conf"
    exit 0
  }
  trap stop TERM INT
  local status=0
  wait "$livy" || status=$?
  kill -KILL -- "-$livy" 2>/dev/null || true
  rm -rf "$conf"
  exit "$status"
}

case "${1:-}" in
  prepare) shift; prepare "$@" ;;
  run) shift; run "$@" ;;
  home) echo "$home" ;;
  *) die "usage: $0 prepare | run --port PORT | home" ;;
esac
