#!/usr/bin/env bash
# Sets up a fresh machine for the demo and the tests: every Debian package the tests use, then npm ci.
# The demo needs only the PostgreSQL client tools; the test suite needs the rest:
#   postgresql-client  pg_dump, pg_restore, psql
#   postgresql-15      the server tools (pg_basebackup, pg_verifybackup, pg_amcheck, initdb, postgres),
#                      installed without the cluster the package would create and start
#   pgbackrest barman  the backup repositories the pgbackrest and barman methods restore
#   python3-django     the Django settings test imports django.conf
#   chromium           the job summary rendered as a user sees it
# Without apt-get (macOS, say) only the client tools are installed; the tests that need the rest are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if command -v apt-get >/dev/null 2>&1; then
  wanted=()
  command -v pg_dump >/dev/null 2>&1 || wanted+=(postgresql-client)
  [ -x /usr/lib/postgresql/15/bin/pg_basebackup ] || wanted+=(postgresql-15)
  command -v pgbackrest >/dev/null 2>&1 || wanted+=(pgbackrest)
  command -v barman >/dev/null 2>&1 || wanted+=(barman)
  if [ -x /usr/bin/python3 ] && ! /usr/bin/python3 -c 'import django' >/dev/null 2>&1; then wanted+=(python3-django); fi
  # Any Chromium or Chrome where the picture test looks will do (GitHub's Ubuntu runners have Chrome;
  # Ubuntu's chromium package is a snap).
  [ -x /usr/bin/chromium ] || [ -x /usr/bin/chromium-browser ] || [ -x /usr/bin/google-chrome ] || wanted+=(chromium)
  if [ ${#wanted[@]} -gt 0 ]; then
    echo "Installing ${wanted[*]}..."
    # The server package would create and start a cluster: none is wanted, the tests start their own.
    $SUDO mkdir -p /etc/postgresql-common
    echo 'create_main_cluster = false' | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
    $SUDO apt-get update -qq
    # PostgreSQL 15's server package is in Debian 12's archive, not in every release's (Ubuntu 24.04
    # has 16): then PostgreSQL's own apt repository, which has every major, is added first.
    if [[ " ${wanted[*]} " == *" postgresql-15 "* ]] && ! apt-cache show postgresql-15 >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql-common >/dev/null &&
        $SUDO /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y >/dev/null ||
        echo "PostgreSQL's apt repository could not be added: postgresql-15 may not be found." >&2
    fi
    # The clusters this machine already has are its owner's: only one a package makes now is dropped.
    clusters_before="$(pg_lsclusters -h 2>/dev/null || true)"
    # One at a time: a package that cannot be had skips its tests, not the others.
    for package in "${wanted[@]}"; do
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$package" >/dev/null ||
        echo "$package could not be installed: the tests that need it are skipped." >&2
    done
    # Whatever a package did, no cluster of its making is left running; the machine's own are kept.
    if command -v pg_lsclusters >/dev/null 2>&1; then
      pg_lsclusters -h 2>/dev/null | while read -r version name _; do
        if ! printf '%s\n' "$clusters_before" | awk -v v="$version" -v n="$name" '$1 == v && $2 == n { found = 1 } END { exit !found }'; then
          $SUDO pg_dropcluster --stop "$version" "$name" || true
        fi
      done
    fi
  fi
elif ! command -v pg_dump >/dev/null 2>&1; then
  if command -v brew >/dev/null 2>&1; then
    brew install libpq
  else
    echo "Install the PostgreSQL client tools with your package manager, then run this again." >&2
    exit 1
  fi
fi
command -v pg_dump >/dev/null && pg_dump --version || echo "pg_dump is not on PATH; the verifier also looks in the usual install folders and PGBIN."
npm ci --no-audit --no-fund
