"""One Settings object: defaults < config file (TOML) < environment OBSERVATORY_* < flags.

Top-level keys map to `OBSERVATORY_<KEY>`, keys of a section to `OBSERVATORY_<SECTION>_<KEY>`.
The config file is written with commented defaults at first start.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

ALERT_KINDS = ["crash", "turn_failed", "stall", "completion", "approval_needed", "error_burst", "budget"]


@dataclass
class AlertSettings:
    stall_thinking_s: float = 180.0  # float literals: env values like "1.5" are coerced by the default's type
    stall_tool_s: float = 660.0
    tool_stall_s: dict[str, float] = field(default_factory=dict)
    cooldown_s: float = 300.0
    error_burst_count: int = 3
    error_burst_window_s: float = 300.0
    budget_usd: float = 0.0
    kinds: list[str] = field(default_factory=lambda: list(ALERT_KINDS))


@dataclass
class PushSettings:
    subject: str = "mailto:observatory@localhost"
    ttl_s: int = 3600
    allow_http: bool = False


@dataclass
class RetentionSettings:
    days: int = 30
    raw_max_kb: int = 1024


@dataclass
class ControlSettings:
    kill_grace_s: float = 5.0
    crash_linger_s: float = 60.0


@dataclass
class RemoteSettings:
    ingest: bool = False
    public_url: str = ""
    access_team_domain: str = ""
    access_audience: str = ""
    access_certs_url: str = ""
    pairing_ttl_s: float = 600.0
    pair_attempts: int = 10
    local_auto_pair: bool = True


@dataclass
class AwaySettings:
    enabled: bool = False
    wait_s: float = 240.0  # a float literal: env values like "1.5" are coerced by the default's type


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 4318
    remote_port: int = 0
    data_dir: Path = field(default_factory=lambda: Path(platformdirs.user_data_dir("agent-observatory")))
    max_body_mb: float = 16
    writer_queue_max: int = 20000
    decode_worker: bool = True  # OTLP bodies are decoded in a child process (a second core)
    ws_queue_max: int = 1000
    ws_heartbeat_s: float = 20.0
    allowed_origins: list[str] = field(default_factory=list)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    push: PushSettings = field(default_factory=PushSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    control: ControlSettings = field(default_factory=ControlSettings)
    remote: RemoteSettings = field(default_factory=RemoteSettings)
    away: AwaySettings = field(default_factory=AwaySettings)
    prices: dict[str, list[float]] = field(default_factory=dict)  # model prefix → USD per 1M tokens

    @property
    def db_path(self) -> Path:
        return self.data_dir / "observatory.db"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "config.toml"

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)


DEFAULT_CONFIG_TEXT = """\
# Agent Observatory configuration. Precedence: defaults < this file < OBSERVATORY_* env < flags.
# host = "127.0.0.1"
# port = 4318                  # the OTLP/HTTP default, so agents need no path config
# remote_port = 0              # 0 = no remote listener (what a tunnel points at); -1 = any free port
# max_body_mb = 16             # request body limit, checked after decompression too
# decode_worker = true         # decode OTLP in a child process, on a second core (if there is one)
# ws_heartbeat_s = 20.0        # live stream: a heartbeat after this long without messages

[alerts]
# stall_thinking_s = 180       # thinking with no progress -> stall
# stall_tool_s = 660           # a running tool gets longer (Claude's Bash tool times out at 600 s)
# tool_stall_s = {}            # per-tool overrides, e.g. { Bash = 1200 }
# cooldown_s = 300             # one alert per (session, kind) within this window
# error_burst_count = 3
# error_burst_window_s = 300
# budget_usd = 0               # per session; 0 = off
# kinds = ["crash", "turn_failed", "stall", "completion", "approval_needed", "error_burst", "budget"]

[push]
# subject = "mailto:observatory@localhost"   # VAPID sub claim
# ttl_s = 3600
# allow_http = false           # plain-http push endpoints, for tests only

[retention]
# days = 30
# raw_max_kb = 1024            # raw payloads larger than this are not kept

[control]
# kill_grace_s = 5             # SIGTERM, then SIGKILL after this many seconds
# crash_linger_s = 60          # `observatory run`: after a crash, wait this long for a restart from the phone

[remote]
# ingest = false               # accept OTLP/hooks on the remote listener (needs ingest tokens)
# public_url = ""              # the tunnel's stable https URL, used in pairing links and QR codes
# access_team_domain = ""      # Cloudflare Access team (<team>.cloudflareaccess.com): with
# access_audience = ""         #   the application's AUD tag, its JWT is required as a second factor
# access_certs_url = ""        # override of https://<team>.cloudflareaccess.com/cdn-cgi/access/certs
# pairing_ttl_s = 600          # a pairing code expires after this many seconds (and works once)
# pair_attempts = 10           # failed pairing attempts allowed per source address per 10 minutes
# local_auto_pair = true       # a browser on this machine (loopback) gets a device cookie by itself;
#                              #   false on a machine shared with other users: pair it with a code

[away]
# enabled = false              # hold permission prompts for a decision from the phone
# wait_s = 240                 # how long a held prompt waits before falling back to the terminal

[prices]
# Codex and Gemini report tokens but no cost: it is estimated from these list prices, USD per
# million tokens [input, cached input, output], by the longest matching model-name prefix.
# Built in: gpt-5, gpt-5-codex, gpt-5-mini, gpt-5-nano, gemini-2.5-pro/-flash/-flash-lite.
# "gpt-5-codex" = [1.25, 0.125, 10.0]
"""


def _coerce(value: str, default: Any) -> Any:
    if isinstance(default, bool):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    if isinstance(default, Path):
        return Path(value).expanduser()
    if isinstance(default, (list, dict)):
        return json.loads(value) if value.strip()[:1] in "[{" else [v.strip() for v in value.split(",") if v.strip()]
    return value


def _apply(target: Any, values: dict[str, Any], where: str) -> None:
    for f in dataclasses.fields(target):
        if f.name not in values:
            continue
        current = getattr(target, f.name)
        value = values[f.name]
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ValueError(f"{where}: [{f.name}] must be a table")
            _apply(current, value, where)
        elif isinstance(value, str) and not isinstance(current, str):
            setattr(target, f.name, _coerce(value, current))
        elif isinstance(current, Path):
            setattr(target, f.name, Path(value).expanduser())
        else:
            setattr(target, f.name, value)


def _env_values(env: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        top = f"OBSERVATORY_{f.name.upper()}"
        default = getattr(Settings(data_dir=Path(".")), f.name)
        if dataclasses.is_dataclass(default):
            section: dict[str, Any] = {}
            for sf in dataclasses.fields(default):
                name = f"{top}_{sf.name.upper()}"
                if name in env:
                    section[sf.name] = env[name]
            if section:
                out[f.name] = section
        elif top in env:
            out[f.name] = env[top]
    return out


def load(flags: dict[str, Any] | None = None, env: dict[str, str] | None = None,
         config_file: Path | None = None, write_default: bool = True) -> Settings:
    """Build Settings from every layer; create the data dir and a commented config file."""
    env = dict(os.environ) if env is None else env
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    settings = Settings()
    env_values = _env_values(env)
    # The data dir decides where the config file lives, so resolve it first.
    data_dir = flags.get("data_dir") or env_values.get("data_dir")
    if data_dir:
        settings.data_dir = Path(data_dir).expanduser()
    path = config_file or settings.config_path
    if path.exists():
        with open(path, "rb") as fh:
            _apply(settings, tomllib.load(fh), str(path))
    _apply(settings, env_values, "environment")
    _apply(settings, flags, "command line")
    settings.data_dir = settings.data_dir.expanduser().resolve()
    if write_default:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(settings.data_dir, 0o700)
        if config_file is None and not settings.config_path.exists():
            settings.config_path.write_text(DEFAULT_CONFIG_TEXT)
    return settings
