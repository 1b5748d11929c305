#!/usr/bin/env bash
# Makes sure the machine has what Ordo needs: Node 20.19+, and — unless DATABASE_URL /
# KAFKA_BROKERS point at running services — PostgreSQL server binaries, Java 17+ and
# Maven; for `bench`, pgbench and perf; for `test`, also Chromium (Debian's package: the
# dashboard's browser tests never download a browser) and promtool (Debian's package
# prometheus: it checks the shipped alert rules). Missing packages are installed with apt
# when we are root; otherwise one line says what to install.
set -euo pipefail

missing=()
need() { missing+=("$1"); }

node_ok=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number); console.log(a>20||(a===20&&b>=19)?1:0)' 2>/dev/null || echo 0)
[ "$node_ok" = 1 ] || { echo "[ordo] Node.js 20.19 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2; exit 1; }

if [ -z "${DATABASE_URL:-}" ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ -n "${PG_BIN:-}" ] || need postgresql
fi
if [ -z "${KAFKA_BROKERS:-}" ]; then
  java_major=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}' || true)
  [ -n "$java_major" ] && [ "${java_major%%.*}" -ge 17 ] || need openjdk-17-jre-headless
  command -v mvn >/dev/null || need maven
fi
if [ "${1:-}" = bench ]; then
  # pgbench measures the database's raw write capacity next to Ordo's.
  command -v pgbench >/dev/null || ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1 || need postgresql-client
  # perf splits the coordinator's CPU time by part of its stack.
  command -v perf >/dev/null || need linux-perf
fi
if [ "${1:-}" = test ] && [ -z "${CHROMIUM_PATH:-}" ]; then
  # Fonts are only recommended by the package, and --no-install-recommends would leave pages without text.
  [ -x /usr/bin/chromium ] || { need chromium; need fonts-liberation; }
fi
if [ "${1:-}" = test ]; then
  # promtool checks the shipped Prometheus alert rules (deploy/prometheus).
  command -v promtool >/dev/null || need prometheus
fi

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "[ordo] installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The package starts a system cluster on 5432; Ordo runs its own and needs none.
else
  echo "[ordo] missing prerequisites: ${missing[*]} — install them (e.g. sudo apt-get install ${missing[*]}), or set DATABASE_URL / KAFKA_BROKERS" >&2
  exit 1
fi
