#!/bin/sh
# Installs and builds everything latency-tracker needs, so that `npm start` and `npm test` work on a fresh clone.
#   sh scripts/prepare.sh          npm packages + build (what `npm start` needs)
#   sh scripts/prepare.sh --test   also the Debian packages the tests use (as root, only those missing)
# Idempotent and quiet when nothing is missing.
set -eu
cd "$(dirname "$0")/.."

want_test=0
for a in "$@"; do
  case "$a" in
    --test) want_test=1 ;;
    *) echo "prepare.sh: unknown option '$a'" >&2; exit 2 ;;
  esac
done

# 1. npm packages: install when node_modules is missing or older than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "prepare: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

# 2. Debian packages the tests use (real parts, not mocks). Only as root, only what is missing,
#    and at most one `apt-get update`.
if [ "$want_test" = 1 ]; then
  missing=""
  need() { # need <command-or-path> <debian-package>
    case "$1" in
      /*) [ -e "$1" ] || missing="$missing $2" ;;
      *) command -v "$1" >/dev/null 2>&1 || missing="$missing $2" ;;
    esac
  }
  need xz xz-utils
  need trace-cmd trace-cmd
  need babeltrace babeltrace
  need promtool prometheus
  need /usr/bin/chromium chromium
  # The fleet sink's tests run a real ClickHouse (Debian's 18.16) on loopback with a temporary config.
  need /usr/sbin/clickhouse-server clickhouse-server
  need clickhouse-client clickhouse-client
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "prepare: installing Debian packages:$missing" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2
      # shellcheck disable=SC2086
      apt-get install -y -qq --no-install-recommends $missing >&2
    else
      echo "prepare: not root, cannot install Debian packages:$missing (tests that need them will say so)" >&2
    fi
  fi
fi

# 3. Build the package (incremental: fast when nothing changed).
npx --no-install tsc -p tsconfig.build.json

# 4. Build the dashboard (ui/ -> ui/dist, served by `latency-tracker serve`) and the report page (ui/dist-report,
#    filled by `analyze --report` and the daemon) when a source is newer than the build.
if [ ! -f ui/dist/index.html ] || [ ! -f ui/dist-report/report.html ] || [ -n "$(find ui/index.html ui/report.html ui/vite.config.ts ui/vite.report.config.ts ui/src package-lock.json -newer ui/dist-report/report.html 2>/dev/null | head -n 1)" ]; then
  echo "prepare: building the dashboard and the report page (ui/dist, ui/dist-report)" >&2
  npx --no-install vite build --config ui/vite.config.ts >&2
fi
