"""Gemini CLI: telemetry and hooks in <GEMINI_CLI_HOME or ~>/.gemini/settings.json.

Gemini has its own hook names (BeforeAgent, BeforeTool, AfterTool, AfterAgent, ...) and
exports OTLP over HTTP as JSON only (`otlpProtocol: "http"`; it appends /v1/<signal>).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from observatory import hook
from observatory.control.resume import RESUMERS
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

name = "gemini"
resume = RESUMERS[name]
EVENTS = ("SessionStart", "BeforeAgent", "BeforeTool", "AfterTool", "AfterAgent", "Notification", "SessionEnd")
TOOL_EVENTS = frozenset({"BeforeTool", "AfterTool"})
HOOK_TIMEOUT_MS = 5000
HOOK_NAME = "agent-observatory"


def config_dir(ctx: Context) -> Path:
    return ctx.env_dir("GEMINI_CLI_HOME", ctx.home) / ".gemini"


def settings_path(ctx: Context) -> Path:
    return config_dir(ctx) / "settings.json"


def detect(ctx: Context) -> str | None:
    return shutil.which("gemini", path=ctx.env.get("PATH")) or (
        str(config_dir(ctx)) if config_dir(ctx).is_dir() else None)


def telemetry(ctx: Context) -> dict[str, Any]:
    return {"enabled": True, "target": "local", "otlpEndpoint": ctx.base_url, "otlpProtocol": "http"}


def _group(ctx: Context, event: str) -> dict[str, Any]:
    handler = {"type": "command", "name": HOOK_NAME, "command": hook.command(ctx.hook_script, ctx.hook_url(name)),
               "timeout": HOOK_TIMEOUT_MS}
    group: dict[str, Any] = {"hooks": [handler]}
    if event in TOOL_EVENTS:
        group = {"matcher": ".*", **group}
    return group


def _add(ctx: Context):
    def add(doc: dict[str, Any], record: Record) -> dict[str, Any]:
        section = doc.setdefault("telemetry", {})
        for key, value in telemetry(ctx).items():
            set_owned(record, section, key, value, f"telemetry.{key}")
        set_owned(record, doc.setdefault("hooksConfig", {}), "enabled", True, "hooksConfig.enabled")
        hooks = doc.setdefault("hooks", {})
        for event in EVENTS:
            put_hook_group(hooks, event, _group(ctx, event), name)
        return doc
    return add


def _remove(ctx: Context):
    def remove(doc: dict[str, Any], record: Record | None) -> dict[str, Any]:
        for section_name, values in (("telemetry", telemetry(ctx)), ("hooksConfig", {"enabled": True})):
            section = doc.get(section_name)
            if isinstance(section, dict):
                for key, value in values.items():
                    unset_owned(record, section, key, value, f"{section_name}.{key}")
                drop_if_empty(doc, section_name)
        hooks = doc.get("hooks")
        if isinstance(hooks, dict):
            for event in list(hooks):
                drop_our_handlers(hooks, event, name)
            drop_if_empty(doc, "hooks")
        return doc
    return remove


def edits(ctx: Context) -> list[Edit]:
    return [Edit(settings_path(ctx), JSON, _add(ctx), _remove(ctx))]


def install_notes(ctx: Context) -> list[str]:
    return [f"telemetry (OTLP/HTTP JSON) and {len(EVENTS)} hooks in {settings_path(ctx)}"]


def checks(ctx: Context) -> list[Check]:
    label = "gemini"
    fix = f"observatory install --target {name}"
    doc = load_json_file(settings_path(ctx))
    groups = doc.get("hooks") or {}
    missing = [e for e in EVENTS
               if not any(is_our_handler(h, name) and h.get("command") == _group(ctx, e)["hooks"][0]["command"]
                          for g in groups.get(e) or [] if isinstance(g, dict) for h in g.get("hooks") or [])]
    out: list[Check] = []
    if missing:
        out.append(fail(label, f"observatory hooks missing or stale in {settings_path(ctx)}: {', '.join(missing)}", fix))
    elif (doc.get("hooksConfig") or {}).get("enabled") is not True:
        out.append(fail(label, "hooksConfig.enabled is not true, so Gemini skips all hooks", fix))
    else:
        out.append(ok(label, f"hooks configured in {settings_path(ctx)}"))
    section = doc.get("telemetry") or {}
    if all(section.get(k) == v for k, v in telemetry(ctx).items()):
        out.append(ok(f"{label} telemetry", f"exports OTLP/HTTP JSON to {ctx.base_url}"))
    else:
        out.append(warn(f"{label} telemetry", f"telemetry in {settings_path(ctx)} does not export here", fix))
    return out
