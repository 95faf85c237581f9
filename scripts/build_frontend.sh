#!/usr/bin/env bash
# Build the PWA (frontend/ + service-worker/) into observatory/static/. Idempotent.
#
# `npm install` (not `npm ci`): it installs exactly what package-lock.json pins and is a ~2 s no-op
# when node_modules is current. `npm ci` refuses this lock because the registry mirror lacks
# rollup's optional per-platform packages for other systems (npm 11 reports them "missing").
set -euo pipefail
cd "$(dirname "$0")/../frontend"
echo "build_frontend: npm install (frontend/)"
npm install --no-audit --no-fund
echo "build_frontend: npm run build (type check + vite build → observatory/static/)"
start=$(date +%s)
npm run build
echo "build_frontend: done in $(( $(date +%s) - start )) s"
