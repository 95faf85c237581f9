"""GET/PUT /api/settings/alerts: which kinds alert and at what thresholds.

A change is validated, written to the config file (tomlkit keeps the user's comments and
layout) and applied live: the detector reads settings.alerts at every decision.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import tomlkit
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from observatory.auth.guard import require_control
from observatory.config import ALERT_KINDS, AlertSettings
from observatory.ingest.body import BadInput
from observatory.request_json import client_error, invalid, json_body

log = logging.getLogger("observatory.alerts")

# threshold → (smallest allowed value, whole numbers only)
NUMBERS: dict[str, tuple[float, bool]] = {
    "stall_thinking_s": (1, False),
    "stall_tool_s": (1, False),
    "cooldown_s": (0, False),
    "error_burst_count": (1, True),
    "error_burst_window_s": (1, False),
    "budget_usd": (0, False),
}
TOOL_OVERRIDES = "tool_stall_s"
MAX_TOOL_OVERRIDES = 100


def snapshot(alerts: AlertSettings) -> dict[str, Any]:
    thresholds: dict[str, Any] = {name: getattr(alerts, name) for name in NUMBERS}
    thresholds[TOOL_OVERRIDES] = dict(alerts.tool_stall_s)
    return {"kinds": {kind: kind in alerts.kinds for kind in ALERT_KINDS}, "thresholds": thresholds}


def _number(name: str, value: Any) -> float | int:
    low, whole = NUMBERS.get(name, (1, False))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise invalid(f"thresholds.{name} must be a number")
    if whole and value != int(value):
        raise invalid(f"thresholds.{name} must be a whole number")
    if value < low:
        raise invalid(f"thresholds.{name} must be at least {low}")
    return int(value) if whole or value == int(value) else value


def parse_change(body: Any, current: AlertSettings) -> dict[str, Any]:
    """The validated new values, by AlertSettings field name; BadInput 400 with a reason otherwise."""
    if not isinstance(body, dict) or not set(body) <= {"kinds", "thresholds"} or not body:
        raise invalid('body must be {"kinds": {kind: bool}, "thresholds": {...}} (either part may be left out)')
    change: dict[str, Any] = {}
    kinds = body.get("kinds")
    if kinds is not None:
        if not isinstance(kinds, dict) or not all(isinstance(v, bool) for v in kinds.values()):
            raise invalid("kinds must map alert kinds to true or false")
        unknown = sorted(set(kinds) - set(ALERT_KINDS))
        if unknown:
            raise invalid(f"unknown alert kinds {unknown}; known: {ALERT_KINDS}")
        enabled = {k: k in current.kinds for k in ALERT_KINDS} | kinds
        change["kinds"] = [k for k in ALERT_KINDS if enabled[k]]
    thresholds = body.get("thresholds")
    if thresholds is not None:
        if not isinstance(thresholds, dict):
            raise invalid("thresholds must be an object")
        unknown = sorted(set(thresholds) - set(NUMBERS) - {TOOL_OVERRIDES})
        if unknown:
            raise invalid(f"unknown thresholds {unknown}; known: {sorted([*NUMBERS, TOOL_OVERRIDES])}")
        for name, value in thresholds.items():
            if name == TOOL_OVERRIDES:
                change[name] = _tool_overrides(value)
            else:
                change[name] = _number(name, value)
    return change


def _tool_overrides(value: Any) -> dict[str, float | int]:
    if not isinstance(value, dict) or len(value) > MAX_TOOL_OVERRIDES:
        raise invalid(f"thresholds.{TOOL_OVERRIDES} must map tool names to seconds, e.g. {{\"Bash\": 1200}}")
    out = {}
    for tool, seconds in value.items():
        if not tool or len(tool) > 100:
            raise invalid(f"thresholds.{TOOL_OVERRIDES}: tool names must be 1-100 characters")
        out[tool] = _number(f"{TOOL_OVERRIDES}.{tool}", seconds)
    return out


def save(path: Path, change: dict[str, Any], section: str = "alerts") -> None:
    """Write the changed keys into [section], keeping everything else in the file as it was."""
    doc = tomlkit.parse(path.read_text()) if path.exists() else tomlkit.document()
    if section not in doc:
        doc[section] = tomlkit.table()
    table = doc[section]
    for name, value in change.items():
        if isinstance(value, dict):
            inline = tomlkit.inline_table()
            inline.update(value)
            value = inline
        table[name] = value  # type: ignore[index]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(tomlkit.dumps(doc))
    os.replace(tmp, path)


async def get_settings(request: Request) -> Response:
    return JSONResponse(snapshot(request.app.state.obs.settings.alerts))


async def put_settings(request: Request) -> Response:
    if (refused := await require_control(request)) is not None:
        return refused
    settings = request.app.state.obs.settings
    try:
        change = parse_change(await json_body(request), settings.alerts)
    except BadInput as exc:
        return client_error(request, exc)
    try:
        save(settings.config_path, change)
    except OSError as exc:
        log.error("could not save alert settings to %s: %s", settings.config_path, exc)
        return JSONResponse({"error": f"could not write {settings.config_path}: {exc.strerror}"}, status_code=500)
    for name, value in change.items():
        setattr(settings.alerts, name, value)
    log.info("alert settings changed by %s: %s", getattr(request.state, "control_actor", "?"), change)
    shadowed = sorted(n for n in change if f"OBSERVATORY_ALERTS_{n.upper()}" in os.environ)
    return JSONResponse({**snapshot(settings.alerts), "overridden_by_environment": shadowed})


routes = [
    Route("/api/settings/alerts", get_settings),
    Route("/api/settings/alerts", put_settings, methods=["PUT"]),
]
