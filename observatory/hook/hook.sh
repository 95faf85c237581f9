#!/bin/sh
# Agent Observatory hook: forwards a hook's stdin JSON to the local observatory.
# usage: hook.sh <url> [agent pid] [json]
#   With a third argument (Codex's `notify` passes its JSON as the last argv), that is sent
#   instead of stdin. Fail-open: prints nothing, gives up fast, always exits 0, so a stopped
#   or missing server never blocks or slows the agent.
url=$1
pid=${2:-0}
if [ $# -ge 3 ]; then
    printf '%s' "$3" | curl -s -o /dev/null --connect-timeout 0.5 -m 2 -H 'Content-Type: application/json' \
        -H "X-Agent-Pid: $pid" --data-binary @- "$url" >/dev/null 2>&1
else
    curl -s -o /dev/null --connect-timeout 0.5 -m 2 -H 'Content-Type: application/json' \
        -H "X-Agent-Pid: $pid" --data-binary @- "$url" >/dev/null 2>&1
fi
exit 0
