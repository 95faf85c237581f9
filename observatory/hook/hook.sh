#!/bin/sh
# Agent Observatory hook: forwards a hook's stdin JSON to the observatory.
# usage: hook.sh <url> [agent pid] [json]
#   With a third argument (Codex's `notify` passes its JSON as the last argv), that is sent
#   instead of stdin. On a host that reports to a remote observatory, OBSERVATORY_INGEST_TOKEN
#   (from `observatory ingest-token add`) is sent as a bearer token. Fail-open: prints nothing,
#   gives up fast, always exits 0, so a stopped or missing server never blocks or slows the agent.
#   A .../permission URL (away mode) is the one exception to "prints nothing": it may wait up to
#   15 minutes and prints the server's decision JSON for the agent; on any failure still nothing.
url=$1
pid=${2:-0}
out=/dev/null
max=2
case $url in */permission) out=/dev/stdout; max=900 ;; esac
auth="X-Observatory-Ingest: none"
[ -n "${OBSERVATORY_INGEST_TOKEN:-}" ] && auth="Authorization: Bearer $OBSERVATORY_INGEST_TOKEN"
post() {
    curl -sf -o "$out" --connect-timeout 0.5 -m "$max" -H 'Content-Type: application/json' \
        -H "X-Agent-Pid: $pid" -H "$auth" --data-binary @- "$url" 2>/dev/null
}
if [ $# -ge 3 ]; then
    printf '%s' "$3" | post
else
    post
fi
exit 0
