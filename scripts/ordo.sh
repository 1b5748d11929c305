#!/usr/bin/env bash
# Entry point of `npm start` and `npm test`: prerequisites, dependencies and build, then
# the launcher or the test run. Safe to run on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."

command=${1:?usage: scripts/ordo.sh start|test [args]}
shift

bash scripts/ensure-prereqs.sh "$command"
# Install when node_modules is missing or older than the lockfile. `npm install` follows
# the lockfile like `npm ci`, but tolerates registries that serve only this platform's
# native builds: a lockfile made there lacks other platforms' optional packages, which
# `npm ci` refuses.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-save --no-audit --no-fund
fi
npm run --silent build

case "$command" in
  start) exec node --enable-source-maps dist/tools/launcher/start.js "$@" ;;
  test)
    # Jest strips types without checking them; the whole tree, tests included, is checked here.
    npm run --silent typecheck
    npm run --silent check:cycles
    npm run --silent lint
    npm run --silent format:check
    code=0
    # --forceExit: once the results are in, a handle a test left open (a client still
    # reconnecting to a broker the test stopped) must not keep the run waiting. (Jest prints
    # "Force exiting" whenever the flag is given; `--detectOpenHandles` finds a real leak.)
    npx jest --forceExit "$@" || code=$?
    # The plain closing line, `N passed, N failed`, last.
    [ -f test-results/summary.txt ] && cat test-results/summary.txt
    exit $code ;;
  *)     echo "unknown command: $command" >&2; exit 2 ;;
esac
