"""Replay a captured fixture scenario through an adapter, in the order the files arrived."""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from observatory import agents
from observatory.agents.base import HookCall
from observatory.ingest.otlp_decode import decode_logs, decode_metrics, decode_traces
from observatory.model import Event, Kind

FIXTURES = Path(__file__).parents[2].parent / "shared" / "fixtures"
AGENT_DIRS = {"claude": "claude-code", "codex": "codex", "gemini": "gemini"}
RECEIVED_BASE_NS = 1_900_000_000_000_000_000
HOOK_PID = 4242
_ARRIVAL = re.compile(r"^(\d{4})_")
_DECODERS = {"_v1_logs": ("normalise_log", decode_logs), "_v1_metrics": ("normalise_metric", decode_metrics),
             "_v1_traces": ("normalise_span", decode_traces)}


@dataclass
class Arrival:
    path: Path
    channel: str  # "hook" | "notify" | "otlp"
    events: list[Event]


def scenario_dir(agent: str, scenario: str) -> Path:
    return FIXTURES / AGENT_DIRS[agent] / scenario


def scenarios(agent: str) -> list[str]:
    return sorted(p.name for p in (FIXTURES / AGENT_DIRS[agent]).iterdir() if p.is_dir())


def fresh_adapter(agent: str) -> Any:
    """A new instance: adapters remember a little per session (approval keys, occurrences)."""
    return type(agents.get(agent))()


def arrival_files(agent: str, scenario: str) -> list[Path]:
    """Hook, notify and OTLP bodies (never the debug `.decoded.json`), by arrival number."""
    out = []
    for path in scenario_dir(agent, scenario).rglob("*"):
        name = path.name.removesuffix(".gz")
        if not _ARRIVAL.match(path.name) or path.parent.name in ("hookctx", "fake_api"):
            continue
        if name.endswith((".meta.json", ".decoded.json")) or not name.endswith((".json", ".bin")):
            continue
        out.append(path)
    return sorted(out, key=lambda p: p.name)


def read_body(path: Path) -> bytes:
    body = path.read_bytes()
    return gzip.decompress(body) if path.name.endswith(".gz") else body


def replay(agent: str, scenario: str, adapter: Any = None) -> list[Arrival]:
    adapter = adapter or fresh_adapter(agent)
    out = []
    for i, path in enumerate(arrival_files(agent, scenario)):
        body = read_body(path)
        name = path.name.removesuffix(".gz")
        received = RECEIVED_BASE_NS + i * 1_000_000
        signal = next((s for s in _DECODERS if s in name), None)
        if signal:
            method, decode = _DECODERS[signal]
            content_type = "application/json" if name.endswith(".json") else "application/x-protobuf"
            events = [e for rec in decode(body, content_type) for e in getattr(adapter, method)(rec)]
            out.append(Arrival(path, "otlp", events))
        elif "notify" in name:
            out.append(Arrival(path, "notify", adapter.normalise_notify(json.loads(body), received)))
        else:
            call = HookCall(payload=json.loads(body), received_ns=received, pid=HOOK_PID)
            out.append(Arrival(path, "hook", adapter.normalise_hook(call)))
    return out


def events_of(arrivals: list[Arrival]) -> list[Event]:
    return [e for a in arrivals for e in a.events]


def kinds(events: list[Event], skip_metrics: bool = True) -> list[str]:
    return [e.kind.value for e in events if not (skip_metrics and e.kind is Kind.METRIC)]


def merged(events: list[Event]) -> list[Event]:
    """What a store that merges by (session, key) keeps: the first of each key."""
    seen: set[tuple[str, str]] = set()
    out = []
    for e in events:
        if e.key is not None:
            if (e.session_id, e.key) in seen:
                continue
            seen.add((e.session_id, e.key))
        out.append(e)
    return out


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
