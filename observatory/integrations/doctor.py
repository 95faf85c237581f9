"""`observatory doctor`: every check prints ok / warn / fail with a one-line fix."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import stat
import tempfile
import urllib.error
import urllib.request

from observatory import hook
from observatory.auth.token import TOKEN_FILE
from observatory.config import Settings
from observatory.integrations import INTEGRATIONS, shellenv
from observatory.integrations.common import Check, Context, Manifest, fail, ok, warn
from observatory.store.migrations import current_version, latest_version
from observatory.vapid import KEY_FILE


def server(ctx: Context) -> tuple[Check, bool]:
    try:
        with urllib.request.urlopen(f"{ctx.base_url}/api/health", timeout=2) as resp:  # noqa: S310 (loopback URL)
            health = json.load(resp)
        return ok("server", f"observatory {health.get('version', '?')} answers at {ctx.base_url}"), True
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return fail("server", f"not reachable at {ctx.base_url} ({exc}); hooks are dropped meanwhile",
                    "observatory serve"), False


def port(settings: Settings, ours: bool) -> Check:
    if ours:
        return ok("port", f"{settings.port} is ours")
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "") else settings.host
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.settimeout(1)
        in_use = sock.connect_ex((host, settings.port)) == 0
    if in_use:
        return fail("port", f"{host}:{settings.port} is taken by another program",
                    "set port = <free port> in config.toml, then observatory install again")
    return ok("port", f"{settings.port} is free")


def data_dir(settings: Settings) -> Check:
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=settings.data_dir):
            pass
        return ok("data dir", f"{settings.data_dir} is writable")
    except OSError as exc:
        return fail("data dir", f"{settings.data_dir} is not writable ({exc.strerror})",
                    f"chown/chmod {settings.data_dir}, or pass --data-dir")


def schema(settings: Settings) -> Check:
    if not settings.db_path.exists():
        return warn("database", f"{settings.db_path} does not exist yet", "observatory serve (creates it)")
    try:
        conn = sqlite3.connect(f"file:{settings.db_path}?mode=ro", uri=True)
        try:
            version = current_version(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return fail("database", f"{settings.db_path} cannot be read: {exc}", "move the file away and restart the server")
    latest = latest_version()
    if version == latest:
        return ok("database", f"schema version {version} is current")
    if version < latest:
        return warn("database", f"schema version {version}, this observatory needs {latest}",
                    "restart `observatory serve` (it migrates at start)")
    return fail("database", f"schema version {version} is newer than this observatory ({latest})",
                "upgrade agent-observatory")


def hook_client(ctx: Context, environ: dict[str, str]) -> list[Check]:
    out = []
    script = ctx.hook_script
    if not script.exists():
        out.append(fail("hook client", f"{script} is missing", "observatory install"))
    elif script.read_text() != hook.script_text():
        out.append(warn("hook client", f"{script} differs from this version's", "observatory install"))
    else:
        out.append(ok("hook client", str(script)))
    if shutil.which("curl", path=environ.get("PATH")):
        out.append(ok("curl", "present (the hook client posts with it)"))
    else:
        out.append(fail("curl", "not on PATH: command hooks cannot report", "install curl (e.g. apt install curl)"))
    return out


def agents(ctx: Context, manifest: Manifest) -> list[Check]:
    out: list[Check] = []
    for name, integration in INTEGRATIONS.items():
        found = integration.detect(ctx)
        configured = any(str(e.path) in manifest.files for e in integration.edits(ctx))
        if not found and not configured:
            out.append(ok(name, "not installed here; skipped"))
            continue
        out.append(ok(f"{name} detected", found) if found else
                   warn(f"{name} detected", "configured but the CLI is not on PATH", f"install {name} or ignore"))
        out.extend(integration.checks(ctx))
    return out


def shell_env(ctx: Context, environ: dict[str, str]) -> Check:
    if shellenv.active(ctx, environ):
        return ok("shell env", "OTEL_* variables point here in this shell")
    return warn("shell env", "this shell does not export the observatory OTEL_* variables",
                f". {shellenv.env_file(ctx)}   (or open a new shell after observatory install)")


def secrets(settings: Settings) -> list[Check]:
    out = []
    vapid = [p for p in settings.data_dir.glob("*vapid*") if p.is_file()]
    path = settings.data_dir / KEY_FILE
    if path.exists():
        out.append(ok("vapid keys", str(path)))
    elif vapid:
        out.append(ok("vapid keys", ", ".join(str(p) for p in vapid)))
    else:
        out.append(warn("vapid keys", "none yet: phone push cannot be set up", "observatory serve (creates them)"))
    token = settings.data_dir / TOKEN_FILE
    if not token.exists():
        out.append(warn("control token", f"{token} does not exist yet", "observatory serve (creates it)"))
    elif stat.S_IMODE(token.stat().st_mode) & 0o077:
        out.append(fail("control token", f"{token} is readable by others "
                        f"(mode {stat.S_IMODE(token.stat().st_mode):o})", f"chmod 600 {token}"))
    else:
        out.append(ok("control token", f"{token} mode 600"))
    return out


def cloudflared(environ: dict[str, str]) -> Check:
    found = shutil.which("cloudflared", path=environ.get("PATH"))
    if found:
        return ok("cloudflared", found)
    return warn("cloudflared", "not installed: needed only for remote (phone) access",
                "install cloudflared (https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/)")


def run_checks(settings: Settings, ctx: Context, environ: dict[str, str] | None = None) -> list[Check]:
    environ = dict(os.environ if environ is None else environ)
    server_check, ours = server(ctx)
    return [server_check, port(settings, ours), data_dir(settings), schema(settings),
            *hook_client(ctx, environ), *agents(ctx, Manifest(settings.data_dir)), shell_env(ctx, environ),
            *secrets(settings), cloudflared(environ)]


def report(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        lines.append(f"[{c.status:^4}] {c.label}: {c.message}")
        if c.fix and c.status != "ok":
            lines.append(f"       fix: {c.fix}")
    return "\n".join(lines)
