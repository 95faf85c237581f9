"""The control token: a random secret in <data dir>/control-token (mode 0600).

Whoever can read that file may kill and restart agents, so it is created with 0600 from
the start (never chmod-ed after writing) and replaced atomically on rotation.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

TOKEN_FILE = "control-token"


def token_path(data_dir: Path) -> Path:
    return data_dir / TOKEN_FILE


def read_token(data_dir: Path) -> str | None:
    try:
        value = token_path(data_dir).read_text().strip()
    except OSError:
        return None
    return value or None


def _write_private(path: Path, value: str) -> None:
    """Write to a 0600 temp file, then rename over `path`: readers never see a half token."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (value + "\n").encode())
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def ensure_token(data_dir: Path) -> str:
    """The current token, created at first start."""
    current = read_token(data_dir)
    if current:
        return current
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    _write_private(token_path(data_dir), value)
    return value


def rotate_token(data_dir: Path) -> str:
    """Replace the token; clients holding the old one are refused from now on."""
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    _write_private(token_path(data_dir), value)
    return value


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison, so response timing reveals nothing about the token."""
    return hmac.compare_digest(given.encode(), expected.encode())
