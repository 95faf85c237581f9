"""Claude Code: hooks and telemetry env in <CLAUDE_CONFIG_DIR or ~/.claude>/settings.json.

Hot events use `"type": "http"` hooks: Claude Code posts the payload itself, no process is
spawned, so a tool call waits ~1 ms instead of a process start. SessionStart alone is a
command hook, because only a command can tell us the agent's pid: it runs under
`/bin/sh -c`, whose `$PPID` is Claude Code (../shared/research/claude-code-telemetry.md §7).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from observatory import hook
from observatory.away import HOOK_TIMEOUT_S
from observatory.control.resume import RESUMERS
from observatory.integrations import shellenv
from observatory.integrations.common import (
    JSON,
    Check,
    Context,
    Edit,
    Record,
    drop_if_empty,
    drop_our_handlers,
    fail,
    is_our_handler,
    load_json_file,
    ok,
    put_hook_group,
    set_owned,
    unset_owned,
    warn,
)

name = "claude"
resume = RESUMERS[name]
COMMAND_EVENTS = ("SessionStart",)
HTTP_EVENTS = ("UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest",
               "Notification", "Stop", "StopFailure", "SubagentStop", "PreCompact", "PostCompact", "SessionEnd")
TOOL_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest"})
HTTP_TIMEOUT_S = 2
COMMAND_TIMEOUT_S = 5


def config_dir(ctx: Context) -> Path:
    return ctx.env_dir("CLAUDE_CONFIG_DIR", ctx.home / ".claude")


def settings_path(ctx: Context) -> Path:
    return config_dir(ctx) / "settings.json"


def detect(ctx: Context) -> str | None:
    return shutil.which("claude", path=ctx.env.get("PATH")) or (
        str(config_dir(ctx)) if config_dir(ctx).is_dir() else None)


def telemetry_env(ctx: Context) -> dict[str, str]:
    return shellenv.variables(ctx)


def _group(ctx: Context, event: str) -> dict[str, Any]:
    url = ctx.hook_url(name)
    if event in COMMAND_EVENTS:
        handler = {"type": "command", "command": hook.command(ctx.hook_script, url), "timeout": COMMAND_TIMEOUT_S}
    elif event == "PermissionRequest":  # away mode may hold it for a decision from the phone
        handler = {"type": "http", "url": f"{url}/permission", "timeout": HOOK_TIMEOUT_S}
    else:
        handler = {"type": "http", "url": url, "timeout": HTTP_TIMEOUT_S}
    group: dict[str, Any] = {"hooks": [handler]}
    if event in TOOL_EVENTS:
        group = {"matcher": "*", **group}
    return group


def _add(ctx: Context):
    def add(doc: dict[str, Any], record: Record) -> dict[str, Any]:
        env = doc.setdefault("env", {})
        for key, value in telemetry_env(ctx).items():
            set_owned(record, env, key, value, f"env.{key}")
        hooks = doc.setdefault("hooks", {})
        for event in (*COMMAND_EVENTS, *HTTP_EVENTS):
            put_hook_group(hooks, event, _group(ctx, event), name)
        allowed = doc.get("allowedHttpHookUrls")
        if isinstance(allowed, list) and ctx.hook_url(name) not in allowed:
            # Only when the user restricts http hooks already: adding the key would restrict theirs.
            allowed.append(ctx.hook_url(name))
            record["added_allowed_url"] = ctx.hook_url(name)
        return doc
    return add


def _remove(ctx: Context):
    def remove(doc: dict[str, Any], record: Record | None) -> dict[str, Any]:
        env = doc.get("env")
        if isinstance(env, dict):
            for key, value in telemetry_env(ctx).items():
                unset_owned(record, env, key, value, f"env.{key}")
            drop_if_empty(doc, "env")
        hooks = doc.get("hooks")
        if isinstance(hooks, dict):
            for event in list(hooks):
                drop_our_handlers(hooks, event, name)
            drop_if_empty(doc, "hooks")
        added = (record or {}).get("added_allowed_url")
        allowed = doc.get("allowedHttpHookUrls")
        if added and isinstance(allowed, list) and added in allowed:
            allowed.remove(added)
        return doc
    return remove


def edits(ctx: Context) -> list[Edit]:
    return [Edit(settings_path(ctx), JSON, _add(ctx), _remove(ctx))]


def install_notes(ctx: Context) -> list[str]:
    return [f"hooks ({len(COMMAND_EVENTS) + len(HTTP_EVENTS)} events) and telemetry env in {settings_path(ctx)}; "
            "new Claude Code sessions report, running ones after a restart"]


def _handlers(doc: dict[str, Any], event: str) -> list[dict[str, Any]]:
    groups = (doc.get("hooks") or {}).get(event) or []
    return [h for g in groups if isinstance(g, dict) for h in g.get("hooks") or [] if is_our_handler(h, name)]


def checks(ctx: Context) -> list[Check]:
    label = "claude code"
    doc = load_json_file(settings_path(ctx))
    fix = f"observatory install --target {name}"
    missing = [e for e in (*COMMAND_EVENTS, *HTTP_EVENTS) if not _handlers(doc, e)]
    if len(missing) == len(COMMAND_EVENTS) + len(HTTP_EVENTS):
        return [fail(label, f"no observatory hooks in {settings_path(ctx)}", fix)]
    out: list[Check] = []
    stale = [h for e in HTTP_EVENTS for h in _handlers(doc, e) if h.get("url") != _group(ctx, e)["hooks"][0]["url"]]
    stale += [h for e in COMMAND_EVENTS for h in _handlers(doc, e) if h.get("command") != _group(ctx, e)["hooks"][0]["command"]]
    if missing or stale:
        out.append(fail(label, f"hooks incomplete or pointing elsewhere (missing: {', '.join(missing) or '-'}, "
                               f"stale: {len(stale)})", fix))
    else:
        out.append(ok(label, f"hooks configured in {settings_path(ctx)}"))
    env = doc.get("env") or {}
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") == ctx.base_url and env.get("CLAUDE_CODE_ENABLE_TELEMETRY") == "1":
        out.append(ok(f"{label} telemetry", f"exports OTLP to {ctx.base_url}"))
    else:
        out.append(warn(f"{label} telemetry", "settings.json env does not send OTLP here "
                        f"(OTEL_EXPORTER_OTLP_ENDPOINT={env.get('OTEL_EXPORTER_OTLP_ENDPOINT')!r})", fix))
    return out
