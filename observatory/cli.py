"""The `observatory` command: serve · status · prune (and the commands features register).

Each command is a module-level function `cmd_<name>(args) -> int` plus its parser in
`COMMANDS`; features add theirs with `register(...)`.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from observatory import config

Command = tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
COMMANDS: list[Command] = []


def register(name: str, help: str, configure: Callable[[argparse.ArgumentParser], None],
             run: Callable[[argparse.Namespace], int]) -> None:
    COMMANDS.append((name, help, configure, run))


def common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="where the database, keys and config live (env OBSERVATORY_DATA_DIR)")
    p.add_argument("--config", help="config file (default: <data dir>/config.toml)")


def settings_from(args: argparse.Namespace, **flags: Any) -> config.Settings:
    from pathlib import Path
    return config.load({"data_dir": getattr(args, "data_dir", None), **flags},
                       config_file=Path(args.config) if getattr(args, "config", None) else None)


# serve -----------------------------------------------------------------------------------

def _serve_options(p: argparse.ArgumentParser) -> None:
    common_options(p)
    p.add_argument("--host", help="bind address (default 127.0.0.1; env OBSERVATORY_HOST)")
    p.add_argument("--port", type=int, help="port (default 4318, the OTLP/HTTP default; 0 = any free port)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def cmd_serve(args: argparse.Namespace) -> int:
    settings = settings_from(args, host=args.host, port=args.port)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.log_level != "debug":  # the scheduler logs every run of the once-a-second detector tick
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    from observatory.server import run
    return run(settings, log_level=args.log_level)


# status ----------------------------------------------------------------------------------

def _status_options(p: argparse.ArgumentParser) -> None:
    common_options(p)
    p.add_argument("--url", help="server URL (default from the config: http://<host>:<port>)")
    p.add_argument("--json", action="store_true", help="print the raw JSON")


def get_json(url: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (local URL from config)
        return json.load(resp)


def cmd_status(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    base = args.url or f"http://{settings.host}:{settings.port}"
    try:
        health = get_json(f"{base}/api/health")
        sessions = get_json(f"{base}/api/sessions")["sessions"]
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"observatory is not reachable at {base}: {exc}\n  start it with: observatory serve", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"health": health, "sessions": sessions}, indent=2))
        return 0
    print(f"observatory {health['version']} at {base}: {len(sessions)} sessions, seq {health['seq']}")
    for s in sessions:
        tool = f" [{s['current_tool']}]" if s.get("current_tool") else ""
        cost = {"estimated": f"≈${s['cost_usd']:.4f}", "unpriced": "cost n/a"}.get(
            s.get("cost_basis", ""), f"${s['cost_usd']:.4f}")
        print(f"  {s['status']:<16} {s['agent']:<7} {s.get('project') or '-':<20} {cost:>9}  {s['id']}{tool}")
    return 0


# prune -----------------------------------------------------------------------------------

def _prune_options(p: argparse.ArgumentParser) -> None:
    common_options(p)
    p.add_argument("--older-than", default=None, help="age such as 30d, 12h (default: retention.days)")


def parse_age(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"age must look like 30d, 12h, 90m or 45s, not {text!r}")
    return float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def cmd_prune(args: argparse.Namespace) -> int:
    from observatory.model import now_ns
    from observatory.store import events as sql
    from observatory.store.db import connect
    from observatory.store.migrations import migrate
    settings = settings_from(args)
    seconds = parse_age(args.older_than) if args.older_than else settings.retention.days * 86400
    conn = connect(settings.db_path)
    migrate(conn)
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        removed = sql.prune(conn, now_ns() - int(seconds * 1e9))
    print("pruned " + ", ".join(f"{n} {what}" for what, n in removed.items()))
    return 0


register("serve", "run the observatory (ingest, API, dashboard)", _serve_options, cmd_serve)
register("status", "show the server's health and sessions", _status_options, cmd_status)
register("prune", "delete data older than an age", _prune_options, cmd_prune)


def build_parser() -> argparse.ArgumentParser:
    import observatory.commands  # noqa: F401  (feature commands register themselves)
    parser = argparse.ArgumentParser(prog="observatory", description="Agent Observatory")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help, configure, run in COMMANDS:
        p = sub.add_parser(name, help=help, description=help)
        configure(p)
        p.set_defaults(run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130

