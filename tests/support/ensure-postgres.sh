#!/usr/bin/env bash
# Make sure the PostgreSQL server binaries are there for the storage tests (Debian's `postgresql` package).
# CI runs `make test` as root on a fresh machine: install the package if missing. Elsewhere, without root or
# apt-get, say so: the PostgreSQL tests then skip with that reason (they fail instead when CI=true).
set -uo pipefail

have_postgres() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null
}

have_postgres && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "ensure-postgres: installing Debian's postgresql package for the storage tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The package's own cluster may fail to start where there is no init system; the tests start their own.
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null || true
  have_postgres && exit 0
  echo "ensure-postgres: installing postgresql failed" >&2
  exit 1
fi
echo "ensure-postgres: PostgreSQL is not installed and cannot be installed here (needs root and apt-get);" \
     "the PostgreSQL storage tests will skip" >&2
if [ "${CI:-}" = "true" ]; then
  exit 1
fi
exit 0
