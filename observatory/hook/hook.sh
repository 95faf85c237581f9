#!/bin/sh
# Agent Observatory hook: forwards a hook's stdin JSON to the observatory.
# usage: hook.sh <url> [agent pid] [json]
#   With a third argument (Codex's `notify` passes its JSON as the last argv), that is sent
#   instead of stdin. On a host that reports to a remote observatory, OBSERVATORY_INGEST_TOKEN
#   (from `observatory ingest-token add`) is sent as a bearer token. Fail-open: prints nothing,
#   gives up fast, always exits 0, so a stopped or missing server never blocks or slows the agent.
url=$1
pid=${2:-0}
auth="X-Observatory-Ingest: none"
[ -n "${OBSERVATORY_INGEST_TOKEN:-}" ] && auth="Authorization: Bearer $OBSERVATORY_INGEST_TOKEN"
post() {
    curl -s -o /dev/null --connect-timeout 0.5 -m 2 -H 'Content-Type: application/json' \
        -H "X-Agent-Pid: $pid" -H "$auth" --data-binary @- "$url" >/dev/null 2>&1
}
if [ $# -ge 3 ]; then
    printf '%s' "$3" | post
else
    post
fi
exit 0
