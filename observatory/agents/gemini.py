"""Gemini CLI: hooks (Claude-shaped, other names) and OTel logs/metrics → canonical Events.

Gemini's hooks carry no prompt id and no tool-call id, and its OTel records carry no hook
timestamp, so no id joins the two channels. What both channels do carry is the content:
the prompt text, and the tool name with its arguments (hook `tool_input` == log
`function_args`). The dedupe key is therefore that content's digest plus how many times
the same content was already seen in the session *on that channel*:
`tool_end:run_shell_command:<digest>#0`. Both channels see a session's calls in the same
order, so the n-th identical call gets the same key on both; a lost record can mis-pair
two identical calls but never makes one call count twice. A tool's ordinal in the session
would not do: a call the CLI rejects before running appears in OTel but fires no hook.
If OTel prompt logging is off (`logPrompts: false`) the prompt cannot be keyed; that log
then becomes `other` and the BeforeAgent hook alone says "prompt".

Token counts: `input_token_count` includes `cached_content_token_count` (Gemini's
`promptTokenCount`; the session file's `total` = input + output), so cached tokens are
subtracted and reported as `cache_read`. PreCompress fires before every model turn without
compressing anything (fixture ok-http-json), so it is not a compaction.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

from observatory.agents import prices
from observatory.agents.base import (
    LogRecord,
    MetricPoint,
    SpanRecord,
    as_bool,
    as_float,
    as_int,
    as_json,
    digest,
    log_event,
    metric_event,
    scalar_detail,
    text,
    tool_detail,
)
from observatory.agents.claude import SESSIONS_REMEMBERED, ClaudeShapedHooks, MakeEvent
from observatory.model import Event, Kind, Tokens


class Occurrences:
    """How often each content key was seen per session on one channel (bounded memory)."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[str, int]] = {}

    def key(self, session_id: str, content_key: str) -> str:
        seen = self._seen.get(session_id)
        if seen is None:
            seen = self._seen[session_id] = {}
            if len(self._seen) > SESSIONS_REMEMBERED:
                del self._seen[next(iter(self._seen))]
        n = seen.get(content_key, 0)
        seen[content_key] = n + 1
        return f"{content_key}#{n}"


def _prompt_content(prompt: str) -> str:
    return f"prompt:{digest(prompt)}"


def _tool_content(phase: str, tool: Any, args: Any) -> str:
    return f"{phase}:{tool}:{digest(args)}"


class GeminiAdapter(ClaudeShapedHooks):
    name = "gemini"
    service_names = ("gemini-cli",)
    otlp_creates_sessions = True
    otlp_keeps_state = True  # the occurrence counts of its OTLP keys
    hook_aliases = {
        "BeforeAgent": "UserPromptSubmit",
        "AfterAgent": "Stop",
        "BeforeTool": "PreToolUse",
        "AfterTool": "PostToolUse",
    }
    # BeforeModel/AfterModel fire per request and per streamed chunk; PreCompress every turn.
    ignored_hooks = frozenset({"BeforeModel", "AfterModel", "BeforeToolSelection", "PreCompress"})
    timeline_logs = frozenset({"gemini_cli.slash_command", "gemini_cli.loop_detected",
                               "gemini_cli.conversation_finished"})
    ignored_logs = frozenset({
        "gemini_cli.config", "gemini_cli.startup_stats", "gemini_cli.ripgrep_fallback", "gemini_cli.hook_call",
        "gemini_cli.model_routing", "gemini_cli.api_request", "gen_ai.client.inference.operation.details",
        "gemini_cli.plan.approval_mode_duration", "gemini_cli.flash_fallback", "gemini_cli.next_speaker_check",
    })

    def __init__(self) -> None:
        super().__init__()
        self._hook_seen = Occurrences()
        self._otlp_seen = Occurrences()

    # Hook keys: content + occurrence (see the module docstring).

    def prompt_key(self, session_id: str, p: dict[str, Any]) -> str | None:
        prompt = text(p.get("prompt"))
        return self._hook_seen.key(session_id, _prompt_content(prompt)) if prompt else None

    def tool_key(self, phase: str, session_id: str, p: dict[str, Any]) -> str | None:
        return self._hook_seen.key(session_id, _tool_content(phase, p.get("tool_name"), p.get("tool_input")))

    def turn_end_key(self, p: dict[str, Any]) -> str | None:
        return None  # AfterAgent has no twin on the OTel side

    def normalise_log(self, rec: LogRecord) -> list[Event]:
        a = rec.attrs
        session_id = text(a.get("session.id")) or text(rec.resource.get("session.id"))
        name = text(a.get("event.name"))
        if session_id is None or name is None:
            return []
        make = partial(log_event, self.name, rec, session_id, name)
        if name == "gemini_cli.user_prompt":
            return self._user_prompt(a, make, session_id)
        if name == "gemini_cli.tool_call":
            return self._tool_call(a, make, session_id)
        if name in ("gemini_cli.api_response", "gemini_cli.api_error"):
            return _api_response(a, make)
        if name == "gemini_cli.chat_compression":
            return [make(Kind.COMPACT, detail=scalar_detail(a))]
        if name in self.ignored_logs:
            return []
        return [make(Kind.OTHER, status="ok" if name in self.timeline_logs else "unknown",
                     detail=scalar_detail(a))]

    def normalise_metric(self, point: MetricPoint) -> list[Event]:
        session_id = text(point.attrs.get("session.id")) or text(point.resource.get("session.id"))
        return [metric_event(self.name, point, session_id)] if session_id else []

    def normalise_span(self, span: SpanRecord) -> list[Event]:
        """The five spans repeat the logs (llm_call, tool_call) with large message bodies."""
        return []

    def _user_prompt(self, a: dict[str, Any], make: MakeEvent, session_id: str) -> list[Event]:
        prompt = text(a.get("prompt"))
        detail = {"prompt": prompt, "prompt_id": a.get("prompt_id"), "prompt_length": a.get("prompt_length")}
        if prompt is None:  # prompt logging off: nothing to merge on, the hook says it
            return [make(Kind.OTHER, detail=detail)]
        return [make(Kind.PROMPT, key=self._otlp_seen.key(session_id, _prompt_content(prompt)), detail=detail)]

    def _tool_call(self, a: dict[str, Any], make: MakeEvent, session_id: str) -> list[Event]:
        tool = text(a.get("function_name"))
        args = as_json(a.get("function_args"))
        ok = as_bool(a.get("success")) is not False
        detail = {**tool_detail(args), "decision": a.get("decision"), "error": a.get("error"),
                  "tool_type": a.get("tool_type"), "prompt_id": a.get("prompt_id")}
        return [make(Kind.TOOL_END, tool=tool, status="ok" if ok else "error",
                     duration_ms=as_float(a.get("duration_ms")),
                     key=self._otlp_seen.key(session_id, _tool_content("tool_end", tool, args)), detail=detail)]


def _api_response(a: dict[str, Any], make: MakeEvent) -> list[Event]:
    status = as_int(a.get("status_code") or a.get("http.status_code"))
    detail = {"prompt_id": a.get("prompt_id"), "role": a.get("role"), "status_code": status or None,
              "finish_reasons": a.get("finish_reasons")}
    error = text(a.get("error")) or text(a.get("error.message"))
    if status >= 400 or error or a.get("event.name") == "gemini_cli.api_error":
        event = make(Kind.API_ERROR, status="error", duration_ms=as_float(a.get("duration_ms")),
                     detail={**detail, "error": error})
    else:
        cached = as_int(a.get("cached_content_token_count"))
        tokens = Tokens(input=max(as_int(a.get("input_token_count")) - cached, 0),
                        output=as_int(a.get("output_token_count")), cache_read=cached,
                        reasoning=as_int(a.get("thoughts_token_count")))
        cost, basis = prices.estimate(text(a.get("model")), tokens)
        event = make(Kind.API_REQUEST, tokens=tokens, cost_usd=cost, duration_ms=as_float(a.get("duration_ms")),
                     detail={**detail, "cost_basis": basis})
    # No response id on the record; its own timestamp makes a resent OTLP batch merge, not add.
    return [replace(event, key=f"{'api' if event.kind is Kind.API_REQUEST else 'api_error'}:{event.ts}")]


ADAPTER = GeminiAdapter()
