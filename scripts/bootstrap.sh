#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: Python venv + package, the built PWA, and (with
# --browser) Debian's Chromium for browser tests. Prints what it does; skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
want_browser=0
[ "${1:-}" = "--browser" ] && want_browser=1

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  step "creating Python virtualenv in .venv ($($PY --version))"
  $PY -m venv .venv
fi
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  step "installing Python packages (pip install -e '.[test]')"
  .venv/bin/python -m pip install --upgrade --progress-bar off pip >/dev/null
  .venv/bin/python -m pip install --progress-bar off -e '.[test]'
  rm -f .venv/.installed-*
  touch "$stamp"
else
  step "Python packages up to date"
fi

step "building the PWA into observatory/static"
bash scripts/build_frontend.sh

if [ "$want_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  step "installing Debian chromium for browser tests (apt-get)"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
fi
step "ready"
