"""The server's VAPID key pair: made once with py-vapid, kept in the data dir (mode 0600).

The public half is the PWA's applicationServerKey; every push subscription is bound to it,
so the key must survive restarts (a new key would orphan every phone's subscription).
"""

from __future__ import annotations

import base64
import logging
import os
import re
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid

log = logging.getLogger("observatory.push")

KEY_FILE = "vapid-private.pem"
_B64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Browsers send base64url without padding; some tools add it. ValueError when not base64url
    (the stdlib decoder would silently drop stray characters)."""
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except ValueError as exc:
        raise ValueError(f"not base64url: {exc}") from None


def load_or_create(data_dir: Path) -> Vapid:
    """The key pair in `data_dir`, generated at first start. The file is created 0600 atomically."""
    path = data_dir / KEY_FILE
    if path.exists():
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
            log.warning("%s was readable by others; made it 0600", path)
        return Vapid.from_file(str(path))
    vapid = Vapid()
    vapid.generate_keys()
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(vapid.private_pem())
    os.replace(tmp, path)
    log.info("generated a VAPID key pair in %s", path)
    return vapid


def application_server_key(vapid: Vapid) -> str:
    """The uncompressed P-256 point, base64url: what `pushManager.subscribe` takes."""
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64url(raw)
