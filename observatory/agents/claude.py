"""Claude Code: hooks (stdin JSON) and OTel logs/metrics → canonical Events.

Join keys (verified on shared/fixtures/claude-code): hook `prompt_id` == log `prompt.id`,
hook `tool_use_id` == log `tool_use_id`, log `request_id` == the API's request id. So
every fact that arrives by both channels carries the same `key` and is merged.

`ClaudeShapedHooks` is also Codex's and Gemini's hook mapper: both copied Claude's hook
payload shape (Gemini under other event names), so only the keys differ per agent.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from observatory.agents.base import (
    HookCall,
    LogRecord,
    MetricPoint,
    SpanRecord,
    as_bool,
    as_float,
    as_int,
    as_json,
    compact_json,
    digest,
    hook_event,
    log_event,
    metric_event,
    output_preview,
    scalar_detail,
    text,
    tool_detail,
)
from observatory.model import Event, Kind, Tokens

MakeEvent = Callable[..., Event]
SESSIONS_REMEMBERED = 4096
APPROVAL_NOTIFICATIONS = frozenset({"permission_prompt", "ToolPermission"})  # Claude's, Gemini's


def _remember(table: dict[str, Any], session_id: str, value: Any) -> None:
    """A small per-session memory that never grows without bound."""
    table.pop(session_id, None)
    table[session_id] = value
    if len(table) > SESSIONS_REMEMBERED:
        del table[next(iter(table))]


class ClaudeShapedHooks:
    """Maps hook payloads of the Claude Code shape; subclasses set names and key parts."""

    name = ""
    turn_field = "prompt_id"  # the hook field that names the user turn
    hook_aliases: dict[str, str] = {}  # the agent's hook name → the Claude hook it equals
    timeline_hooks: frozenset[str] = frozenset()  # known, shown as Kind.OTHER
    ignored_hooks: frozenset[str] = frozenset()  # known, not worth an Event

    def __init__(self) -> None:
        self._approval_keys: dict[str, str] = {}  # session → key of its open PermissionRequest

    def normalise_hook(self, call: HookCall) -> list[Event]:
        p = call.payload
        if not isinstance(p, dict):
            return []
        session_id = text(p.get("session_id"))
        name = text(p.get("hook_event_name")) or text(call.event_name)
        if session_id is None or name is None:
            return []
        make = partial(hook_event, self.name, call, session_id, name)
        handler = _HOOK_HANDLERS.get(self.hook_aliases.get(name, name))
        if handler is not None:
            return handler(self, p, make, session_id)
        if name in self.ignored_hooks:
            return []
        if name in self.timeline_hooks:
            return [make(Kind.OTHER, detail=scalar_detail(p))]
        return [make(Kind.OTHER, status="unknown", detail=scalar_detail(p))]

    # Key parts; Gemini overrides these because its hooks carry no ids.

    def turn_id(self, p: dict[str, Any]) -> str | None:
        return text(p.get(self.turn_field))

    def prompt_key(self, session_id: str, p: dict[str, Any]) -> str | None:
        turn = self.turn_id(p)
        return f"prompt:{turn}" if turn else None

    def tool_key(self, phase: str, session_id: str, p: dict[str, Any]) -> str | None:
        tool_use_id = text(p.get("tool_use_id"))
        return f"{phase}:{tool_use_id}" if tool_use_id else None

    def turn_end_key(self, p: dict[str, Any]) -> str | None:
        turn = self.turn_id(p)
        return f"turn_end:{turn}" if turn else None

    # Handlers, one per Claude hook name.

    def _session_start(self, p: dict[str, Any], make: MakeEvent, sid: str) -> list[Event]:
        return [make(Kind.SESSION_START, detail={"source": p.get("source"),
                                                  "transcript_path": p.get("transcript_path")})]

    def _prompt(self, p: dict[str, Any], make: MakeEvent, sid: str) -> list[Event]:
        detail = {"prompt": text(p.get("prompt")), self.turn_field: self.turn_id(p)}
        return [make(Kind.PROMPT, key=self.prompt_key(sid, p), detail=detail)]

    def _tool_start(self, p: dict[str, Any], make: MakeEvent, sid: str) -> list[Event]:
        detail = {**tool_detail(p.get("tool_input")), "tool_use_id": text(p.get("tool_use_id")),
                  "agent_id": text(p.get("agent_id"))}
        return [make(Kind.TOOL_START, tool=text(p.get("tool_name")),
                     key=self.tool_key("tool_start", sid, p), detail=detail)]

    def _tool_end(self, p: dict[str, Any], make: MakeEvent, sid: str) -> list[Event]:
        response = p.get("tool_response")
        error = p.get("error") or (response.get("error") if isinstance(response, dict) else None)
        failed = p.get("hook_event_name") == "PostToolUseFailure" or bool(error)
        detail = {**tool_detail(p.get("tool_input")), "tool_use_id": text(p.get("tool_use_id")),
                  "output": output_preview(response), "error": output_preview(error),
                  "agent_id": text(p.get("agent_id"))}
        return [make(Kind.TOOL_END, tool=text(p.get("tool_name")), status="error" if failed else "ok",
                     duration_ms=as_float(p.get("duration_ms")),
                     key=self.tool_key("tool_end", sid, p), detail=detail)]

    def _permission(self, p: dict[str, Any], make: MakeEvent, sid: str) -> list[Event]:
        # No tool_use_id here (Claude and Codex); the tool and its input tell two requests of one turn apart.
        key = f"approval:{self.turn_id(p)}:{digest([p.get('tool_name'), p.get('tool_input')])}"
        _remember(self._approval_keys, sid, key)
        detail = {**tool_detail(p.get("tool_input")), "tool_input": compact_json(p.get("tool_input")),
                  "permission_suggestions": p.get("permission_suggestions"), "cwd": text(p.get("cwd"))}
        return [make(Kind.APPROVAL_NEEDED, tool=text(p.get("tool_name")), key=key, detail=detail)]

    def _notification(self, p: dict[str, Any], make: MakeEvent, sid: str) -> list[Event]:
        kind = text(p.get("notification_type"))
        detail = {"notification_type": kind, "message": text(p.get("message"))}
        if kind in APPROVAL_NOTIFICATIONS:  # Claude's comes ~6 s after its PermissionRequest: same key
            turn = self.turn_id(p)
            key = self._approval_keys.get(sid) or (f"approval:{turn}" if turn else None)
            return [make(Kind.APPROVAL_NEEDED, key=key, detail=detail)]
        if kind == "idle_prompt":  # a reminder that the turn ended: same key as its Stop
            return [make(Kind.TURN_END, key=self.turn_end_key(p), detail=detail)]
        return [make(Kind.OTHER, detail=detail)]

    def _stop(self, p: dict[str, Any], make: MakeEvent, sid: str) -> list[Event]:
        self._approval_keys.pop(sid, None)
        error = p.get("error") if p.get("hook_event_name") == "StopFailure" else None
        detail = {"last_assistant_message": output_preview(p.get("last_assistant_message")),
                  "error": text(error), self.turn_field: self.turn_id(p)}
        return [make(Kind.TURN_END, status="error" if error else "ok", key=self.turn_end_key(p), detail=detail)]

    def _subagent_stop(self, p: dict[str, Any], make: MakeEvent, sid: str) -> list[Event]:
        agent_id = text(p.get("agent_id"))
        detail = {"agent_id": agent_id, "agent_type": text(p.get("agent_type")),
                  "last_assistant_message": output_preview(p.get("last_assistant_message"))}
        return [make(Kind.SUBAGENT_END, key=f"subagent_end:{agent_id}" if agent_id else None, detail=detail)]

    def _compact(self, p: dict[str, Any], make: MakeEvent, sid: str) -> list[Event]:
        # Pre and Post of one compaction share a key: one compaction, one event.
        trigger = text(p.get("trigger"))
        return [make(Kind.COMPACT, key=f"compact:{self.turn_id(p)}:{trigger}", detail={"trigger": trigger})]

    def _session_end(self, p: dict[str, Any], make: MakeEvent, sid: str) -> list[Event]:
        self._approval_keys.pop(sid, None)
        return [make(Kind.SESSION_END, detail={"reason": p.get("reason")})]


_HOOK_HANDLERS: dict[str, Callable[[ClaudeShapedHooks, dict[str, Any], MakeEvent, str], list[Event]]] = {
    "SessionStart": ClaudeShapedHooks._session_start,
    "UserPromptSubmit": ClaudeShapedHooks._prompt,
    "PreToolUse": ClaudeShapedHooks._tool_start,
    "PostToolUse": ClaudeShapedHooks._tool_end,
    "PostToolUseFailure": ClaudeShapedHooks._tool_end,
    "PermissionRequest": ClaudeShapedHooks._permission,
    "Notification": ClaudeShapedHooks._notification,
    "Stop": ClaudeShapedHooks._stop,
    "StopFailure": ClaudeShapedHooks._stop,
    "SubagentStop": ClaudeShapedHooks._subagent_stop,
    "PreCompact": ClaudeShapedHooks._compact,
    "PostCompact": ClaudeShapedHooks._compact,
    "SessionEnd": ClaudeShapedHooks._session_end,
}


def _tokens(a: dict[str, Any]) -> Tokens:
    return Tokens(input=as_int(a.get("input_tokens")), output=as_int(a.get("output_tokens")),
                  cache_read=as_int(a.get("cache_read_tokens")),
                  cache_write=as_int(a.get("cache_creation_tokens")))


def _keyed(prefix: str, value: Any) -> str | None:
    value = text(value)
    return f"{prefix}:{value}" if value else None


class ClaudeAdapter(ClaudeShapedHooks):
    name = "claude"
    service_names = ("claude-code",)
    otlp_creates_sessions = True
    turn_field = "prompt_id"
    timeline_hooks = frozenset({
        "SubagentStart", "PermissionDenied", "TaskCreated", "TaskCompleted", "Elicitation", "CwdChanged",
        "WorktreeCreate", "WorktreeRemove", "ConfigChange", "TeammateIdle",
    })
    # PostToolBatch repeats PostToolUse; MessageDisplay streams the answer that Stop carries.
    ignored_hooks = frozenset({
        "PostToolBatch", "MessageDisplay", "UserPromptExpansion", "Setup", "InstructionsLoaded",
        "FileChanged", "ElicitationResult",
    })
    timeline_logs = frozenset({
        "subagent_completed", "internal_error", "api_refusal", "compaction", "permission_mode_changed",
        "mcp_server_connection", "skill_activated", "plugin_installed", "auth", "at_mention", "tool",
    })
    ignored_logs = frozenset({
        "assistant_response", "hook_registered", "hook_execution_start", "hook_execution_complete",
        "system_prompt", "plugin_loaded", "hook_plugin_metrics", "feedback_survey",
    })

    def normalise_log(self, rec: LogRecord) -> list[Event]:
        a = rec.attrs
        session_id = text(a.get("session.id"))
        event = text(a.get("event.name"))
        if session_id is None or event is None:
            return []
        name = rec.body if isinstance(rec.body, str) and rec.body else f"claude_code.{event}"
        make = partial(log_event, self.name, rec, session_id, name)
        handler = _LOG_HANDLERS.get(event)
        if handler is not None:
            return handler(a, make)
        if event in self.ignored_logs:
            return []
        status = "error" if event == "internal_error" else "ok" if event in self.timeline_logs else "unknown"
        return [make(Kind.OTHER, status=status, detail=scalar_detail(a))]

    def normalise_metric(self, point: MetricPoint) -> list[Event]:
        session_id = text(point.attrs.get("session.id"))
        return [metric_event(self.name, point, session_id)] if session_id else []

    def normalise_span(self, span: SpanRecord) -> list[Event]:
        """Spans repeat what the logs say (and need tracing beta); the timeline stays with logs."""
        return []


def _user_prompt(a: dict[str, Any], make: MakeEvent) -> list[Event]:
    prompt_id = text(a.get("prompt.id"))
    if a.get("command_name"):  # a slash command such as /exit: not a turn for the model
        return [make(Kind.OTHER, detail={"command": a.get("command_name"), "prompt_id": prompt_id})]
    return [make(Kind.PROMPT, key=_keyed("prompt", prompt_id),
                 detail={"prompt": text(a.get("prompt")), "prompt_id": prompt_id})]


def _api_request(a: dict[str, Any], make: MakeEvent) -> list[Event]:
    detail = {"request_id": a.get("request_id"), "query_source": a.get("query_source"),
              "agent_name": a.get("agent.name"), "prompt_id": a.get("prompt.id")}
    return [make(Kind.API_REQUEST, tokens=_tokens(a), cost_usd=as_float(a.get("cost_usd"), 0.0),
                 duration_ms=as_float(a.get("duration_ms")), key=_keyed("api", a.get("request_id")),
                 detail=detail)]


def _api_error(a: dict[str, Any], make: MakeEvent) -> list[Event]:
    detail = {"error": a.get("error"), "status_code": as_int(a.get("status_code")) or None,
              "attempt": as_int(a.get("attempt")) or None, "request_id": a.get("request_id")}
    return [make(Kind.API_ERROR, status="error", duration_ms=as_float(a.get("duration_ms")),
                 key=_keyed("api_error", a.get("request_id")), detail=detail)]


def _retries_exhausted(a: dict[str, Any], make: MakeEvent) -> list[Event]:
    """The turn failed: the same fact as the StopFailure hook, so the same key."""
    detail = {"error": a.get("error"), "status_code": as_int(a.get("status_code")) or None,
              "total_attempts": as_int(a.get("total_attempts")) or None, "prompt_id": a.get("prompt.id")}
    return [make(Kind.TURN_END, status="error", key=_keyed("turn_end", a.get("prompt.id")), detail=detail)]


def _tool_result(a: dict[str, Any], make: MakeEvent) -> list[Event]:
    ok = as_bool(a.get("success")) is not False
    tool_input = as_json(a.get("tool_input"))
    if tool_input is None:  # without OTEL_LOG_TOOL_DETAILS; parameters still name the command
        params = as_json(a.get("tool_parameters"))
        tool_input = {"command": params.get("full_command")} if isinstance(params, dict) else params
    detail = {**tool_detail(tool_input), "tool_use_id": a.get("tool_use_id"), "error": a.get("error"),
              "error_type": a.get("error_type")}
    return [make(Kind.TOOL_END, tool=text(a.get("tool_name")), status="ok" if ok else "error",
                 duration_ms=as_float(a.get("duration_ms")), key=_keyed("tool_end", a.get("tool_use_id")),
                 detail=detail)]


def _tool_decision(a: dict[str, Any], make: MakeEvent) -> list[Event]:
    """An accept says nothing new; a reject ends the tool, and a user's reject ends the turn.

    After Esc on a permission prompt Claude waits for the user and fires no Stop hook
    (fixture interactive-permission): this record is the only sign the turn is over.
    """
    if a.get("decision") != "reject":
        return []
    source = text(a.get("source"))
    events = [make(Kind.TOOL_END, tool=text(a.get("tool_name")), status="error",
                   key=_keyed("tool_end", a.get("tool_use_id")),
                   detail={"error": f"rejected ({source})", "tool_use_id": a.get("tool_use_id")})]
    if source == "user_reject":
        events.append(make(Kind.TURN_END, key=_keyed("turn_end", a.get("prompt.id")),
                           detail={"reason": "user_reject", "prompt_id": a.get("prompt.id")}))
    return events


_LOG_HANDLERS: dict[str, Callable[[dict[str, Any], MakeEvent], list[Event]]] = {
    "user_prompt": _user_prompt,
    "api_request": _api_request,
    "api_error": _api_error,
    "api_retries_exhausted": _retries_exhausted,
    "tool_result": _tool_result,
    "tool_decision": _tool_decision,
}

ADAPTER = ClaudeAdapter()
