"""Codex CLI: hooks (Claude-shaped), the legacy `notify` JSON and OTel logs → canonical Events.

Sessions come from hooks only (`otlp_creates_sessions = False`): the TUI runs a hidden
title-generation conversation that emits OTLP and `notify` under its own id but fires no
hook, and must not become a phantom session.

Tokens: `codex.sse_event` kind `response.completed` carries them. Codex follows the OpenAI
Responses usage, where `input_token_count` INCLUDES `cached_token_count` (the rollout's
`total_tokens` = input + output, 1200 + 40 = 1240, with no separate cache term), and
`output_token_count` INCLUDES `reasoning_token_count`. Canonical token classes are disjoint:
`Tokens.input` is the uncached input (as Claude reports it), so cached tokens are subtracted
and reported as `cache_read` (`input + cache_read` equals the rollout's `input_tokens`), and
reasoning is taken out of `output` (`output + reasoning` equals its `output_tokens`).
Metric points carry no conversation id at all, so they become no events.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

from observatory.agents import prices
from observatory.agents.base import (
    HookCall,
    LogRecord,
    MetricPoint,
    SpanRecord,
    as_bool,
    as_float,
    as_int,
    log_event,
    output_preview,
    scalar_detail,
    text,
    tool_detail,
)
from observatory.agents.claude import ClaudeShapedHooks, MakeEvent
from observatory.model import Event, Kind, Source, Tokens, cap_detail

APPROVED = frozenset({"approved", "approved_for_session", "approved_execpolicy_amendment"})


class CodexAdapter(ClaudeShapedHooks):
    name = "codex"
    service_names = ("codex_exec", "codex_cli_rs")
    otlp_creates_sessions = False
    turn_field = "turn_id"
    # The prompt arrives by hook with its turn id; `codex.user_prompt` has no turn id to merge
    # on, so it is left to the hook. The rest is startup and streaming detail.
    ignored_logs = frozenset({
        "codex.conversation_starts", "codex.startup_phase", "codex.user_prompt", "codex.turn_ttft",
    })

    def normalise_notify(self, payload: dict[str, Any], received_ns: int) -> list[Event]:
        """`notify` runs after each turn; it is the Stop hook's fact, under the same key."""
        if not isinstance(payload, dict):
            return []
        session_id = text(payload.get("thread-id"))
        if session_id is None:
            return []
        name = text(payload.get("type")) or "notify"
        turn = text(payload.get("turn-id"))
        detail = {"last_assistant_message": output_preview(payload.get("last-assistant-message")),
                  "client": text(payload.get("client")), "turn_id": turn}
        known = name == "agent-turn-complete"
        return [Event(agent=self.name, session_id=session_id, kind=Kind.TURN_END if known else Kind.OTHER,
                      source=Source.NOTIFY, ts=received_ns, received_at=received_ns, name=name,
                      status="ok" if known else "unknown", cwd=text(payload.get("cwd")),
                      key=f"turn_end:{turn}" if known and turn else None, detail=cap_detail(detail))]

    def normalise_log(self, rec: LogRecord) -> list[Event]:
        a = rec.attrs
        session_id = text(a.get("conversation.id"))
        name = text(a.get("event.name"))
        if session_id is None or name is None:
            return []
        make = partial(log_event, self.name, rec, session_id, name)
        handler = _LOG_HANDLERS.get(name)
        if handler is not None:
            return handler(a, make)
        if name in self.ignored_logs:
            return []
        return [make(Kind.OTHER, status="unknown", detail=scalar_detail(a))]

    def normalise_metric(self, point: MetricPoint) -> list[Event]:
        return []

    def normalise_span(self, span: SpanRecord) -> list[Event]:
        """~600 internal spans per tiny session; the logs and hooks already say what matters."""
        return []


def _sse_event(a: dict[str, Any], make: MakeEvent) -> list[Event]:
    # Two `response.completed` records arrive per call; only the second carries the tokens.
    if a.get("event.kind") != "response.completed" or "input_token_count" not in a:
        return []
    cached = as_int(a.get("cached_token_count"))
    reasoning = as_int(a.get("reasoning_token_count"))
    tokens = Tokens(input=max(as_int(a.get("input_token_count")) - cached, 0),
                    output=max(as_int(a.get("output_token_count")) - reasoning, 0), cache_read=cached,
                    cache_write=as_int(a.get("cache_write_token_count")), reasoning=reasoning)
    cost, basis = prices.estimate(text(a.get("model")), tokens)
    event = make(Kind.API_REQUEST, tokens=tokens, cost_usd=cost,
                 detail={"ttft_ms": as_float(a.get("ttft_ms")), "cost_basis": basis})
    # No response id on the record; its own timestamp makes a resent OTLP batch merge, not add.
    return [replace(event, key=f"api:{event.ts}")]


def _api_request(a: dict[str, Any], make: MakeEvent) -> list[Event]:
    """An HTTP call to the model; only failures are news (successes are counted via sse)."""
    status = as_int(a.get("http.response.status_code"))
    error = text(a.get("error.message")) or text(a.get("error"))
    if status < 400 and not error:
        return []
    detail = {"status_code": status or None, "error": error, "attempt": as_int(a.get("attempt")),
              "endpoint": a.get("endpoint")}
    return [make(Kind.API_ERROR, status="error", duration_ms=as_float(a.get("duration_ms")), detail=detail)]


def _tool_result(a: dict[str, Any], make: MakeEvent) -> list[Event]:
    call_id = text(a.get("call_id"))  # == the hooks' tool_use_id
    ok = as_bool(a.get("success")) is not False
    detail = {**tool_detail(a.get("arguments")), "tool_use_id": call_id, "output": output_preview(a.get("output"))}
    return [make(Kind.TOOL_END, tool=text(a.get("tool_name")), status="ok" if ok else "error",
                 duration_ms=as_float(a.get("duration_ms")), key=f"tool_end:{call_id}" if call_id else None,
                 detail=detail)]


def _tool_decision(a: dict[str, Any], make: MakeEvent) -> list[Event]:
    """Approvals are no news; a denial or abort ends the tool call."""
    decision = text(a.get("decision"))
    if decision is None or decision in APPROVED:
        return []
    call_id = text(a.get("call_id"))
    return [make(Kind.TOOL_END, tool=text(a.get("tool_name")), status="error",
                 key=f"tool_end:{call_id}" if call_id else None,
                 detail={"error": f"{decision} ({a.get('source')})", "tool_use_id": call_id})]


_LOG_HANDLERS = {
    "codex.sse_event": _sse_event,
    "codex.api_request": _api_request,
    "codex.tool_result": _tool_result,
    "codex.tool_decision": _tool_decision,
}

ADAPTER = CodexAdapter()
