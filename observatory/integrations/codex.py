"""Codex CLI: [otel] exporters and `notify` in <CODEX_HOME or ~/.codex>/config.toml (edited
with tomlkit, so the user's comments and key order survive) and hooks in hooks.json next to it.

Codex runs non-managed hooks only after the user trusts them in its TUI (`/hooks`); the trust
is a `[hooks.state."<hooks.json>:<event>:<group>:<handler>"] trusted_hash` in config.toml and
any edit of a hook un-trusts it. We never write that trust ourselves: it is the user's review.
Until then `notify` (no trust needed) still reports each turn's end, and OTLP logs the rest.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import tomlkit

from observatory import hook
from observatory.away import HOOK_TIMEOUT_S as AWAY_HOOK_TIMEOUT_S
from observatory.control.resume import RESUMERS
from observatory.integrations.common import (
    JSON,
    TOML,
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
    plain,
    put_hook_group,
    set_owned,
    unset_owned,
    warn,
)

name = "codex"
resume = RESUMERS[name]
EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PermissionRequest", "PostToolUse", "Stop",
          "SubagentStop", "PreCompact", "PostCompact", "SessionEnd")
HOOK_TIMEOUT_S = 5
# Logs carry the tokens, tools and turns; metrics have no session id but count. Traces are
# left off: ~600 internal spans (≈2 MB of JSON) per one-command session.
EXPORTERS = {"exporter": "/v1/logs", "metrics_exporter": "/v1/metrics"}
TRUST_FIX = "start `codex`, type /hooks, and trust the observatory hooks (one time; re-trust after `observatory install` changes them)"


def config_dir(ctx: Context) -> Path:
    return ctx.env_dir("CODEX_HOME", ctx.home / ".codex")


def config_path(ctx: Context) -> Path:
    return config_dir(ctx) / "config.toml"


def hooks_path(ctx: Context) -> Path:
    return config_dir(ctx) / "hooks.json"


def detect_binary(ctx: Context) -> str | None:
    return shutil.which("codex", path=ctx.env.get("PATH"))


def detect(ctx: Context) -> str | None:
    return detect_binary(ctx) or (str(config_dir(ctx)) if config_dir(ctx).is_dir() else None)


def _exporter(ctx: Context, path: str) -> Any:
    inner = tomlkit.inline_table()
    inner.update({"endpoint": ctx.base_url + path, "protocol": "binary"})
    outer = tomlkit.inline_table()
    outer["otlp-http"] = inner
    return outer


def notify_command(ctx: Context) -> list[str]:
    """Codex appends the notify JSON as the last argument: hook.sh posts it (pid unknown: 0)."""
    return ["/bin/sh", str(ctx.hook_script), ctx.hook_url(name) + "/notify", "0"]


def _add_config(ctx: Context):
    def add(doc: Any, record: Record) -> Any:
        if "notify" not in doc or plain(doc["notify"]) == notify_command(ctx):
            set_owned(record, doc, "notify", notify_command(ctx), "notify")
        else:
            record["kept_user_notify"] = True
        if "otel" not in doc:
            doc["otel"] = tomlkit.table()
            record["created_otel"] = True
        for key, path in EXPORTERS.items():
            set_owned(record, doc["otel"], key, _exporter(ctx, path), f"otel.{key}")
        return doc
    return add


def _remove_config(ctx: Context):
    def remove(doc: Any, record: Record | None) -> Any:
        unset_owned(record, doc, "notify", notify_command(ctx), "notify")
        if "otel" in doc:
            for key, path in EXPORTERS.items():
                unset_owned(record, doc["otel"], key, _exporter(ctx, path), f"otel.{key}")
            if (record or {}).get("created_otel"):
                drop_if_empty(doc, "otel")
        return doc
    return remove


def _group(ctx: Context, event: str) -> dict[str, Any]:
    if event == "PermissionRequest":  # away mode may hold it; hook.sh prints the decision
        command = hook.command(ctx.hook_script, ctx.hook_url(name) + "/permission")
        return {"hooks": [{"type": "command", "command": command, "timeout": AWAY_HOOK_TIMEOUT_S}]}
    return {"hooks": [{"type": "command", "command": hook.command(ctx.hook_script, ctx.hook_url(name)),
                       "timeout": HOOK_TIMEOUT_S}]}


def _add_hooks(ctx: Context):
    def add(doc: dict[str, Any], record: Record) -> dict[str, Any]:
        hooks = doc.setdefault("hooks", {})
        for event in EVENTS:
            put_hook_group(hooks, event, _group(ctx, event), name)
        return doc
    return add


def _remove_hooks(doc: dict[str, Any], record: Record | None) -> dict[str, Any]:
    hooks = doc.get("hooks")
    if isinstance(hooks, dict):
        for event in list(hooks):
            drop_our_handlers(hooks, event, name)
        drop_if_empty(doc, "hooks")
    return doc


def edits(ctx: Context) -> list[Edit]:
    return [Edit(config_path(ctx), TOML, _add_config(ctx), _remove_config(ctx)),
            Edit(hooks_path(ctx), JSON, _add_hooks(ctx), _remove_hooks)]


def install_notes(ctx: Context) -> list[str]:
    return [f"[otel] logs+metrics exporters and notify in {config_path(ctx)}; {len(EVENTS)} hooks in {hooks_path(ctx)}",
            "ACTION NEEDED: Codex runs these hooks only after you trust them: " + TRUST_FIX + ". "
            "Until then Codex reports turn ends (notify) and telemetry, but no live tool or approval state."]


# Trust ---------------------------------------------------------------------------------------

def _event_key(event: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", event).lower()


def our_hook_keys(ctx: Context) -> dict[str, str]:
    """Codex's trust key for each of our handlers: `<hooks.json>:<event_snake>:<group>:<handler>`."""
    doc = load_json_file(hooks_path(ctx))
    keys = {}
    for event, groups in (doc.get("hooks") or {}).items():
        for gi, group in enumerate(groups if isinstance(groups, list) else []):
            for hi, handler in enumerate(group.get("hooks") or [] if isinstance(group, dict) else []):
                if is_our_handler(handler, name):
                    keys[f"{hooks_path(ctx)}:{_event_key(event)}:{gi}:{hi}"] = event
    return keys


def trust_from_codex(ctx: Context, binary: str, timeout: float = 10.0) -> dict[str, str] | None:
    """Ask Codex itself (`codex app-server`, JSON-RPC `hooks/list`): key → trustStatus.

    The only way to also catch a hook edited after it was trusted (its hash changed)."""
    env = {**ctx.env, "HOME": str(ctx.home), "CODEX_HOME": str(config_dir(ctx))}
    try:
        proc = subprocess.Popen([binary, "app-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, env=env, text=True)
    except OSError:
        return None
    requests = [{"jsonrpc": "2.0", "id": 1, "method": "initialize",
                 "params": {"clientInfo": {"name": "observatory-doctor", "version": "1"}}},
                {"jsonrpc": "2.0", "method": "initialized", "params": {}},
                {"jsonrpc": "2.0", "id": 2, "method": "hooks/list", "params": {"cwds": [str(ctx.home)]}}]
    deadline = time.monotonic() + timeout
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("".join(json.dumps(r) + "\n" for r in requests))
        proc.stdin.flush()
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                return None
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("id") == 2:
                return {h["key"]: h.get("trustStatus", "") for d in msg.get("result", {}).get("data", [])
                        for h in d.get("hooks", []) if isinstance(h, dict) and "key" in h}
        return None
    except (OSError, KeyError, AttributeError):
        return None
    finally:
        proc.kill()
        proc.wait()


def trust_from_config(ctx: Context) -> dict[str, str]:
    """Without a codex binary: a key with a trusted_hash in config.toml counts as trusted."""
    try:
        state = tomlkit.parse(config_path(ctx).read_text()).get("hooks", {}).get("state", {})
    except (OSError, tomlkit.exceptions.ParseError):
        state = {}
    return {key: "trusted" if "trusted_hash" in value else "untrusted" for key, value in plain(state).items()}


def checks(ctx: Context) -> list[Check]:
    label = "codex"
    fix = f"observatory install --target {name}"
    out: list[Check] = []
    keys = our_hook_keys(ctx)
    if not keys:
        out.append(fail(label, f"no observatory hooks in {hooks_path(ctx)}", fix))
    try:
        config = tomlkit.parse(config_path(ctx).read_text()) if config_path(ctx).exists() else {}
    except tomlkit.exceptions.ParseError as exc:
        return [*out, fail(label, f"{config_path(ctx)} is not valid TOML: {exc}", "fix the file by hand")]
    otel = plain(config.get("otel", {}))
    wanted = {k: plain(_exporter(ctx, p)) for k, p in EXPORTERS.items()}
    if all(otel.get(k) == v for k, v in wanted.items()):
        out.append(ok(f"{label} telemetry", f"[otel] exports to {ctx.base_url}"))
    else:
        out.append(warn(f"{label} telemetry", f"[otel] in {config_path(ctx)} does not export here", fix))
    if keys:
        binary = detect_binary(ctx)
        statuses = trust_from_codex(ctx, binary) if binary else None
        source = "codex hooks/list" if statuses is not None else "config.toml [hooks.state]"
        if statuses is None:
            statuses = trust_from_config(ctx)
        untrusted = sorted(event for key, event in keys.items() if statuses.get(key) not in ("trusted", "managed"))
        if untrusted:
            out.append(fail(f"{label} hook trust", f"{len(untrusted)} of {len(keys)} observatory hooks are not "
                            f"trusted, so Codex skips them ({source}: {', '.join(untrusted)})", TRUST_FIX))
        else:
            out.append(ok(f"{label} hook trust", f"all {len(keys)} observatory hooks trusted ({source})"))
    return out
