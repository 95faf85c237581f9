"""The OTEL_* environment block: in the user's shell profile (between marker lines) and in
<data dir>/env.sh (to source by hand, or from shells whose profile we do not know).

Claude Code reads these from its settings too; the shell block makes every agent started
from a new shell report, including ones configured only through the environment.
"""

from __future__ import annotations

import re
from pathlib import Path

from observatory.integrations.common import TEXT, Context, Edit, Record

BEGIN = "# >>> agent-observatory >>>"
END = "# <<< agent-observatory <<<"
_BLOCK = re.compile(r"(?:\n)?" + re.escape(BEGIN) + r"\n.*?" + re.escape(END) + r"\n?", re.S)
PROFILES = {"zsh": ".zshrc", "bash": ".bashrc"}


def variables(ctx: Context) -> dict[str, str]:
    return {
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": ctx.base_url,
        "OTEL_LOGS_EXPORT_INTERVAL": "1000",
        "OTEL_METRIC_EXPORT_INTERVAL": "10000",
        "OTEL_LOG_TOOL_DETAILS": "1",
    }


def block(ctx: Context) -> str:
    lines = [BEGIN, "# Added by `observatory install`; `observatory uninstall` removes it."]
    lines += [f"export {k}={v}" for k, v in variables(ctx).items()]
    return "\n".join([*lines, END]) + "\n"


def profile_path(ctx: Context, explicit: str | None = None) -> Path:
    """The rc file the user's login shell reads: ~/.zshrc, ~/.bashrc, else ~/.profile."""
    if explicit:
        return Path(explicit).expanduser()
    shell = Path(ctx.env.get("SHELL", "")).name
    return ctx.home / PROFILES.get(shell, ".profile")


def env_file(ctx: Context) -> Path:
    return ctx.data_dir / "env.sh"


def _without_block(text: str) -> str:
    return _BLOCK.sub("", text)


def edits(ctx: Context, profile: Path) -> list[Edit]:
    def add_to_profile(text: str, record: Record) -> str:
        record["profile"] = True  # uninstall finds it even if $SHELL changed meanwhile
        text = _without_block(text)
        if text and not text.endswith("\n"):
            text += "\n"
        return text + ("\n" if text else "") + block(ctx)

    def remove_from_profile(text: str, record: Record | None) -> str:
        return _without_block(text)

    return [
        Edit(profile, TEXT, add_to_profile, remove_from_profile),
        Edit(env_file(ctx), TEXT, lambda text, record: block(ctx), lambda text, record: ""),
    ]


def active(ctx: Context, environ: dict[str, str]) -> bool:
    """Is this shell already exporting our variables (sourced the block)?"""
    return all(environ.get(k) == v for k, v in variables(ctx).items())
