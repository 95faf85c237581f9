"""`observatory pair`, `devices`, `ingest-token` and `tunnel`.

These work on the database directly (not through the server), so they work whether or not the
server runs; the server reads credentials on every request, so a revocation here applies at once.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from typing import Any, TextIO

import segno

from observatory import tunnel
from observatory.auth import devices as dev
from observatory.cli import common_options, register, settings_from
from observatory.config import Settings
from observatory.model import iso, now_ns
from observatory.store import devices as sql
from observatory.store.db import connect
from observatory.store.migrations import migrate

DEVICE_KINDS = (sql.DEVICE, sql.LOCAL)


def in_db(settings: Settings, fn: Callable[..., Any], *args: Any) -> Any:
    """Run fn(conn, *args) in one write transaction on the observatory's database."""
    conn = connect(settings.db_path)
    try:
        migrate(conn)
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            return fn(conn, *args)
    finally:
        conn.close()


def terminal_qr(url: str) -> str:
    out = io.StringIO()
    segno.make(url, error="m").terminal(out=out, compact=True)
    return out.getvalue()


def show_pairing(settings: Settings, base: str | None, out: TextIO = sys.stdout) -> None:
    """Make a one-time code and print its QR (when a public URL is known) and the code to type."""
    code, expires_at = in_db(settings, dev.create_pairing_code, settings.remote.pairing_ttl_s)
    url = tunnel.pairing_url(base, dev.display_code(code))
    minutes = settings.remote.pairing_ttl_s / 60
    if url:
        out.write(terminal_qr(url))
        print(f"Scan with the phone's camera, or open: {url}", file=out)
    else:
        print("No public URL yet: run `observatory tunnel`, or set [remote] public_url, to get a QR code.",
              file=out)
    print(f"Pairing code: {dev.display_code(code)}  (works once, expires in {minutes:g} min, at "
          f"{iso(expires_at)}; it can also be typed in the app's Settings)", file=out, flush=True)


# pair ------------------------------------------------------------------------------------

def _pair_options(p: argparse.ArgumentParser) -> None:
    common_options(p)
    p.add_argument("--url", help="public https URL the phone opens (default: [remote] public_url or the running tunnel's)")


def cmd_pair(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    show_pairing(settings, args.url.rstrip("/") if args.url else tunnel.public_base(settings))
    return 0


# devices ---------------------------------------------------------------------------------

def _list_options(p: argparse.ArgumentParser, noun: str) -> Any:
    """`list` (the default) and `revoke <id or name>`; returns the subparsers to add more."""
    common_options(p)
    sub = p.add_subparsers(dest="action")
    sub.add_parser("list", help=f"list {noun}s (the default)")
    revoke = sub.add_parser("revoke", help=f"revoke a {noun}: it is refused from its next request on")
    revoke.add_argument("ref", help="its id or name")
    return sub


def _revoke(settings: Settings, ref: str, kinds: tuple[str, ...], noun: str, command: str) -> int:
    revoked = in_db(settings, sql.revoke_credential, ref, kinds, now_ns())
    if not revoked:
        print(f"no {noun} {ref!r}; `observatory {command} list` shows them", file=sys.stderr)
        return 1
    print(f"revoked {noun} {', '.join(revoked)}")
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if args.action == "revoke":
        return _revoke(settings, args.ref, DEVICE_KINDS, "device", "devices")
    rows = in_db(settings, sql.list_credentials, DEVICE_KINDS)
    if not rows:
        print("no paired devices; `observatory pair` pairs one")
    for r in rows:
        print(f"{r['id']:<14} {r['name']:<24} {r['kind']:<7} paired {r['created_at']}  "
              f"last used {r['last_used_at'] or 'never'}")
    return 0


# ingest-token ----------------------------------------------------------------------------

def _ingest_options(p: argparse.ArgumentParser) -> None:
    add = _list_options(p, "ingest token").add_parser(
        "add", help="make a token for a host that sends telemetry and hooks through the remote listener")
    add.add_argument("host", help="a name for the sending machine, e.g. build-vm")


def ingest_instructions(host: str, token: str, base: str | None, remote_ingest: bool) -> str:
    endpoint = base or "https://<your tunnel hostname>"
    lines = [
        f"Ingest token for {host} (shown once; only its hash is stored):",
        f"  {token}",
        "",
        f"On {host}, send agent telemetry here (OTLP/HTTP):",
        f"  export OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}",
        f'  export OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20{token}"',
        "Hooks on that host POST their JSON with the same header:",
        f"  URL     {endpoint}/hooks/<claude|codex|gemini>",
        f"  header  Authorization: Bearer {token}",
    ]
    if not remote_ingest:
        lines += ["", "Remote ingest is OFF: set [remote] ingest = true and restart `observatory serve`."]
    return "\n".join(lines)


def cmd_ingest_token(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if args.action == "revoke":
        return _revoke(settings, args.ref, (sql.INGEST,), "ingest token", "ingest-token")
    if args.action == "add":
        host = dev.clean_name(args.host, "")
        if not host:
            print("give the host a printable name", file=sys.stderr)
            return 2
        token = in_db(settings, dev.create_ingest_token, host)
        print(ingest_instructions(host, token.credential, tunnel.public_base(settings), settings.remote.ingest))
        return 0
    rows = in_db(settings, sql.list_credentials, (sql.INGEST,))
    if not rows:
        print("no ingest tokens; `observatory ingest-token add <host>` makes one")
    for r in rows:
        print(f"{r['id']:<14} {r['name']:<24} made {r['created_at']}  last used {r['last_used_at'] or 'never'}")
    return 0


# tunnel ----------------------------------------------------------------------------------

def _tunnel_options(p: argparse.ArgumentParser) -> None:
    common_options(p)
    p.add_argument("--name", help="named tunnel to run (recommended: stable hostname)")
    p.add_argument("--hostname", help="its public hostname (default: [remote] public_url)")
    p.add_argument("--cloudflared-config", help="a cloudflared config file (see config/cloudflared.example.yml)")
    p.add_argument("--quick", action="store_true",
                   help="try-out quick tunnel on trycloudflare.com: its URL changes at every start")


def cmd_tunnel(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    try:
        plan = tunnel.plan(settings, args.quick, args.name, args.cloudflared_config, args.hostname)
    except tunnel.TunnelError as exc:
        print(exc, file=sys.stderr)
        return 1

    def ready(url: str) -> None:
        print(f"Tunnel up: {url} → remote listener 127.0.0.1:{settings.remote_port}")
        if plan.quick:
            print(tunnel.QUICK_WARNING)
        show_pairing(settings, url)
        print("Ctrl-C stops the tunnel.", flush=True)

    try:
        return tunnel.run(settings, plan, ready)
    except tunnel.TunnelError as exc:
        print(exc, file=sys.stderr)
        return 1


register("pair", "pair a phone: print a one-time QR code and code", _pair_options, cmd_pair)
register("devices", "list or revoke paired devices", lambda p: _list_options(p, "device"), cmd_devices)
register("ingest-token", "add, list or revoke the tokens remote hosts send with", _ingest_options,
         cmd_ingest_token)
register("tunnel", "expose the remote listener through a Cloudflare Tunnel", _tunnel_options, cmd_tunnel)
