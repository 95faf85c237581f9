"""Commands of control: `observatory run -- <agent…>` and `observatory token [--rotate]`."""

from __future__ import annotations

import argparse
import logging
import sys
from urllib.parse import urlsplit, urlunsplit

from observatory.auth.token import ensure_token, rotate_token, token_path
from observatory.cli import common_options, register, settings_from
from observatory.config import Settings


def agents_ws_url(settings: Settings, url: str | None) -> str:
    """ws://host:port/api/agents from --url (http or ws) or the configured listener."""
    if not url:
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        url = f"http://{host}:{settings.port}"
    parts = urlsplit(url)
    scheme = {"https": "wss", "wss": "wss"}.get(parts.scheme, "ws")
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/api/agents", "", ""))


def _run_options(p: argparse.ArgumentParser) -> None:
    common_options(p)
    p.add_argument("--name", help="a label for this agent on the dashboard")
    p.add_argument("--agent", help="claude, codex or gemini (default: from the command's name); "
                                   "decides how a restart resumes the session")
    p.add_argument("--url", help="server URL (default from the config: http://<host>:<port>)")
    p.add_argument("--linger", type=float, default=None,
                   help="after a crash, seconds to wait for a restart from the dashboard "
                        "(default: control.crash_linger_s)")
    p.add_argument("--verbose", action="store_true", help="log to stderr instead of <data dir>/supervisor.log")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- the agent command and its arguments")


def cmd_run(args: argparse.Namespace) -> int:
    from observatory.control.resume import guess_agent
    from observatory.control.supervisor import RunOptions, run
    argv = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not argv:
        print("usage: observatory run [--name N] -- <agent command…>, e.g. observatory run -- claude",
              file=sys.stderr)
        return 2
    settings = settings_from(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s supervisor[%(process)d] %(levelname)s: %(message)s",
                        **({"stream": sys.stderr} if args.verbose else
                           {"filename": str(settings.data_dir / "supervisor.log")}))
    opts = RunOptions(
        argv=argv, agent=args.agent or guess_agent(argv), ws_url=agents_ws_url(settings, args.url),
        data_dir=settings.data_dir, name=args.name, kill_grace_s=settings.control.kill_grace_s,
        linger_s=settings.control.crash_linger_s if args.linger is None else args.linger)
    return run(opts)


def _token_options(p: argparse.ArgumentParser) -> None:
    common_options(p)
    p.add_argument("--rotate", action="store_true", help="replace the token (clients using the old one are refused)")


def cmd_token(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    value = rotate_token(settings.data_dir) if args.rotate else ensure_token(settings.data_dir)
    print(value)
    if args.rotate:
        print(f"rotated; stored in {token_path(settings.data_dir)}", file=sys.stderr)
    return 0


register("run", "run an agent supervised (kill/restart from the dashboard): observatory run -- claude",
         _run_options, cmd_run)
register("token", "print the control token (--rotate to replace it)", _token_options, cmd_token)
