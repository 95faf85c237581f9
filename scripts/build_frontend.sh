#!/usr/bin/env bash
# Build the PWA (frontend/ + service-worker/) into observatory/static/. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../frontend"
if [ -f package-lock.json ]; then
  echo "build_frontend: npm ci (frontend/)"
  npm ci --no-audit --no-fund
else
  echo "build_frontend: npm install (frontend/, no lock file yet)"
  npm install --no-audit --no-fund
fi
echo "build_frontend: npm run build → observatory/static/"
start=$(date +%s)
npm run build
echo "build_frontend: done in $(( $(date +%s) - start )) s"
