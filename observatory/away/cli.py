"""`observatory away on|off|status`: the same switch as the PWA's, from a terminal.

It asks the running server (PUT /api/away with the control token), so the change applies at
once and is audited. With no server running, `on`/`off` write [away] in the config file and
take effect at the next start.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from typing import Any

from observatory import alert_settings
from observatory.auth.token import read_token
from observatory.cli import common_options, register, settings_from


def _options(p: argparse.ArgumentParser) -> None:
    common_options(p)
    p.add_argument("state", choices=["on", "off", "status"], help="switch away mode on or off, or show it")
    p.add_argument("--url", help="server URL (default from the config: http://<host>:<port>)")


def _request(url: str, token: str | None, body: dict[str, Any] | None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers, method="PUT" if body is not None else "GET")
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 (the local server from the config)
        return json.load(resp)


def _describe(state: dict[str, Any]) -> str:
    mode = "on" if state["enabled"] else "off"
    return (f"away mode is {mode}: permission prompts are "
            + (f"held up to {state['wait_s']:g} s for a decision from the phone" if state["enabled"]
               else "answered at the terminal only") + f" ({state.get('pending', 0)} waiting now)")


def cmd_away(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    url = (args.url or f"http://{host}:{settings.port}").rstrip("/") + "/api/away"
    body = None if args.state == "status" else {"enabled": args.state == "on"}
    try:
        state = _request(url, read_token(settings.data_dir), body)
    except urllib.error.HTTPError as exc:
        try:
            reason = json.load(exc).get("error", exc.reason)
        except ValueError:
            reason = exc.reason
        print(f"the observatory at {url} refused: {reason}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        if body is None:
            print(f"the observatory is not running ({exc}); config file says away mode is "
                  f"{'on' if settings.away.enabled else 'off'}", file=sys.stderr)
            return 1
        alert_settings.save(settings.config_path, body, section="away")
        print(f"the observatory is not running; wrote away.enabled = {str(body['enabled']).lower()} to "
              f"{settings.config_path} (applies when it starts)")
        return 0
    print(_describe(state))
    return 0


register("away", "away mode: hold agents' permission prompts for Approve/Deny from the phone (on|off|status)",
         _options, cmd_away)
