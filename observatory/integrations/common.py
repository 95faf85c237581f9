"""Editing other programs' config files safely: plan, diff, back up, write, take back.

Every file an integration touches is an `Edit`: a format (JSON, TOML, text) and two
functions, `add` (put our part in) and `remove` (take only our part out). A manifest in the
data dir remembers, per file, whether it existed, where its original bytes were backed up,
the hash of what we wrote and the user's values we replaced. That is what lets `uninstall`
restore a file byte for byte when nobody touched it since, and otherwise remove only our
entries and put back the user's replaced values.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import shutil
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import tomlkit

MANIFEST_NAME = "integrations.json"
MISSING = {"__observatory_missing__": True}  # JSON-able marker: "the user had no value here"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

Record = dict[str, Any]


@dataclass(frozen=True)
class Context:
    """Where things are for one install run; tests point `home` and `env` at temp dirs."""

    home: Path
    data_dir: Path
    base_url: str  # http://127.0.0.1:4318
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def hook_script(self) -> Path:
        from observatory.hook import installed_path
        return installed_path(self.data_dir)

    def hook_url(self, agent: str) -> str:
        return f"{self.base_url}/hooks/{agent}"

    def env_dir(self, var: str, default: Path) -> Path:
        value = self.env.get(var)
        return Path(value).expanduser() if value else default


# Formats -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Format:
    name: str
    load: Callable[[str], Any]
    dump: Callable[[Any, str], str]  # (doc, the text it came from: for indentation) -> text
    same: Callable[[str, str], bool]  # equal in meaning (formatting aside)
    empty: Callable[[Any], bool]


def _json_load(text: str) -> Any:
    if not text.strip():
        return {}
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"not valid JSON ({exc}); fix or move the file, then run again") from None
    if not isinstance(doc, dict):
        raise ConfigError("the top level is not a JSON object; fix or move the file, then run again")
    return doc


def _json_indent(text: str) -> int:
    """Keep the user's indentation so a diff shows our lines, not a reformatted file."""
    m = re.search(r"\n( +)\S", text)
    return len(m.group(1)) if m else 2


def _json_dump(doc: Any, like: str) -> str:
    return json.dumps(doc, indent=_json_indent(like), ensure_ascii=False) + "\n"


def _json_same(a: str, b: str) -> bool:
    try:
        return _json_load(a) == _json_load(b)
    except ConfigError:
        return False


def _toml_load(text: str) -> Any:
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(f"not valid TOML ({exc}); fix or move the file, then run again") from None


def _toml_same(a: str, b: str) -> bool:
    try:
        return tomllib.loads(a) == tomllib.loads(b)
    except tomllib.TOMLDecodeError:
        return False


JSON = Format("json", _json_load, _json_dump, _json_same, lambda doc: not doc)
TOML = Format("toml", _toml_load, lambda doc, like: tomlkit.dumps(doc), _toml_same,
              lambda doc: not doc.unwrap())
TEXT = Format("text", lambda text: text, lambda doc, like: doc, lambda a, b: a == b, lambda doc: not doc)


class ConfigError(Exception):
    """A user's config file we cannot safely edit; the message says what to do."""


# Edits and owned values ------------------------------------------------------------------

@dataclass(frozen=True)
class Edit:
    path: Path
    fmt: Format
    add: Callable[[Any, Record], Any]  # (doc, record) -> doc with our part
    remove: Callable[[Any, Record], Any]  # (doc, record) -> doc without it


def plain(value: Any) -> Any:
    """tomlkit items → plain Python values (for the manifest and comparisons)."""
    return value.unwrap() if hasattr(value, "unwrap") else value


def set_owned(record: Record, container: Any, key: str, value: Any, label: str) -> None:
    """Set `container[key]`, remembering the user's value (once) so uninstall can restore it."""
    previous = record.setdefault("previous", {})
    current = plain(container.get(key, MISSING)) if key in container else MISSING
    if label not in previous and current != plain(value):
        previous[label] = current
    if current != plain(value):
        container[key] = value


def unset_owned(record: Record | None, container: Any, key: str, value: Any, label: str) -> None:
    """Undo `set_owned`: only where the value is still ours (a user's later change wins)."""
    if key not in container or plain(container[key]) != plain(value):
        return
    previous = (record or {}).get("previous", {}).get(label, MISSING)
    if previous == MISSING:
        del container[key]
    else:
        container[key] = previous


def replaced_values(record: Record) -> list[str]:
    """Labels of user values we replaced (for the install report)."""
    return [label for label, value in record.get("previous", {}).items() if value != MISSING]


def is_our_handler(handler: Any, agent: str) -> bool:
    """Our hook entries: an http hook to /hooks/<agent> on loopback, or our hook.sh command."""
    if not isinstance(handler, dict):
        return False
    if handler.get("type") == "http":
        url = urlparse(str(handler.get("url", "")))
        return url.hostname in LOOPBACK and url.path.rstrip("/").removesuffix("/permission") == f"/hooks/{agent}"
    command = str(handler.get("command", ""))
    return "hook.sh" in command and f"/hooks/{agent}" in command


def put_hook_group(hooks: dict[str, Any], event: str, group: dict[str, Any], agent: str) -> None:
    """Make `group` our only entry for `event`; an identical entry already there stays put."""
    groups = hooks.setdefault(event, [])
    if group in groups and sum(_has_ours(g, agent) for g in groups) == 1:
        return
    drop_our_handlers(hooks, event, agent)
    hooks.setdefault(event, []).append(group)


def _has_ours(group: Any, agent: str) -> bool:
    return isinstance(group, dict) and any(is_our_handler(h, agent) for h in group.get("hooks") or [])


def drop_our_handlers(hooks: dict[str, Any], event: str, agent: str) -> None:
    """Remove our handlers from `event`'s groups; a group left empty goes, then the event."""
    kept = []
    for group in hooks.get(event) or []:
        if isinstance(group, dict) and isinstance(group.get("hooks"), list):
            handlers = [h for h in group["hooks"] if not is_our_handler(h, agent)]
            if not handlers:
                continue
            if len(handlers) != len(group["hooks"]):
                group = {**group, "hooks": handlers}
        kept.append(group)
    if kept:
        hooks[event] = kept
    elif event in hooks:
        del hooks[event]


def drop_if_empty(container: Any, key: str) -> None:
    if key in container and not plain(container[key]):
        del container[key]


# Plan, diff, apply -------------------------------------------------------------------------

@dataclass
class Change:
    path: Path
    before: str | None  # None: the file does not exist
    after: str | None  # None: delete the file
    record: Record

    @property
    def changed(self) -> bool:
        return self.before != self.after


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


class Manifest:
    """Per-file install records, kept in <data dir>/integrations.json."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / MANIFEST_NAME
        text = read_text(self.path)
        self.files: dict[str, Record] = json.loads(text) if text else {}

    def record(self, path: Path) -> Record | None:
        return self.files.get(str(path))

    def save(self) -> None:
        if self.files:
            write_atomic(self.path, json.dumps(self.files, indent=2) + "\n", mode=0o600)
        elif self.path.exists():
            self.path.unlink()


def plan_install(edits: list[Edit], manifest: Manifest) -> list[Change]:
    changes = []
    for edit in edits:
        before = read_text(edit.path)
        existing = manifest.record(edit.path)
        record: Record = json.loads(json.dumps(existing)) if existing else {"existed": before is not None}
        try:
            doc = edit.add(edit.fmt.load(before or ""), record)
        except ConfigError as exc:
            raise ConfigError(f"{edit.path}: {exc}") from None
        changes.append(Change(edit.path, before, edit.fmt.dump(doc, before or ""), record))
    return changes


def plan_uninstall(edits: list[Edit], manifest: Manifest) -> list[Change]:
    changes = []
    for edit in edits:
        before = read_text(edit.path)
        record = manifest.record(edit.path)
        if before is None:
            continue
        original = _original(record)
        if record and record.get("written_sha256") == sha256(before):
            after = original  # untouched since we wrote it: the exact original bytes (or no file)
        else:
            try:
                doc = edit.remove(edit.fmt.load(before), record)
            except ConfigError as exc:
                raise ConfigError(f"{edit.path}: {exc}") from None
            after = edit.fmt.dump(doc, before)
            if original is not None and edit.fmt.same(after, original):
                after = original
            elif record and not record.get("existed") and edit.fmt.empty(doc):
                after = None
        changes.append(Change(edit.path, before, after, record or {}))
    return changes


def _original(record: Record | None) -> str | None:
    if not record or not record.get("existed"):
        return None
    backup = record.get("backup")
    return read_text(Path(backup)) if backup else None


def diff(changes: list[Change]) -> str:
    out = []
    for c in changes:
        if c.changed:
            out.extend(difflib.unified_diff(
                (c.before or "").splitlines(keepends=True), (c.after or "").splitlines(keepends=True),
                fromfile=str(c.path) if c.before is not None else "/dev/null",
                tofile=str(c.path) if c.after is not None else "/dev/null"))
            if out and not out[-1].endswith("\n"):
                out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def write_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Temp file + rename, so an agent starting meanwhile never reads half a config."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    tmp = path.with_name(f".{path.name}.observatory-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def apply_install(changes: list[Change], manifest: Manifest, backup_dir: Path) -> list[Path]:
    """Write the planned files; back up each original first. Returns the backups made."""
    backups = []
    for c in changes:
        key = str(c.path)
        if c.changed:
            if c.before is not None:
                backup = backup_dir / f"{len(backups):02d}-{c.path.name}"
                backup.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(c.path, backup)
                backups.append(backup)
                c.record.setdefault("backup", str(backup))
            assert c.after is not None
            write_atomic(c.path, c.after)
        if c.after is not None:
            c.record["written_sha256"] = sha256(c.after)
        manifest.files[key] = c.record
    manifest.save()
    return backups


def apply_uninstall(changes: list[Change], manifest: Manifest, paths: list[Path]) -> None:
    for c in changes:
        if c.changed:
            if c.after is None:
                c.path.unlink()
            else:
                write_atomic(c.path, c.after)
    for path in paths:
        manifest.files.pop(str(path), None)
    manifest.save()


def backup_dir_for(data_dir: Path) -> Path:
    return data_dir / "backups" / time.strftime("%Y%m%d-%H%M%S")


# Doctor checks -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    status: str  # "ok" | "warn" | "fail"
    label: str
    message: str
    fix: str = ""


def ok(label: str, message: str) -> Check:
    return Check("ok", label, message)


def warn(label: str, message: str, fix: str) -> Check:
    return Check("warn", label, message, fix)


def fail(label: str, message: str, fix: str) -> Check:
    return Check("fail", label, message, fix)


def load_json_file(path: Path) -> dict[str, Any]:
    """A CLI's JSON settings for a doctor check: {} when missing or unreadable."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}
