#!/usr/bin/env bash
# Sets up a fresh machine for the demo and the tests: the PostgreSQL client tools, then npm ci.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pg_dump >/dev/null 2>&1; then
  echo "Installing the PostgreSQL client tools (pg_dump, pg_restore, psql)..."
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql-client >/dev/null
  elif command -v brew >/dev/null 2>&1; then
    brew install libpq
  else
    echo "Install the PostgreSQL client tools with your package manager, then run this again." >&2
    exit 1
  fi
fi
command -v pg_dump >/dev/null && pg_dump --version || echo "pg_dump is not on PATH; the verifier also looks in the usual install folders and PGBIN."
npm ci --no-audit --no-fund
