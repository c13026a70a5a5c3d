#!/usr/bin/env bash
# Install the system packages the test suite needs when they are missing (Debian):
# PostgreSQL 15 with PostGIS 3, for the storage tests' throwaway cluster, and Chromium,
# for the map and report tests (headless, offline).
set -euo pipefail
PG_BIN=/usr/lib/postgresql/15/bin
need=()
[ -x "$PG_BIN/pg_ctl" ] && [ -x "$PG_BIN/initdb" ] || need+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/postgis.control ] || need+=(postgresql-15-postgis-3)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ "${#need[@]}" -eq 0 ]; then
  exit 0
fi
echo "installing: ${need[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
