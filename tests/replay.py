"""Replay a captured fixture folder against a server, in the order the real CLI sent it."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Callable

Post = Callable[[str, bytes, dict[str, str]], tuple[int, bytes, dict[str, str]]]
_SEQ = re.compile(r"^(\d{4})_")


def fixture_requests(folder: Path, agent: str) -> list[tuple[str, bytes, dict[str, str]]]:
    """(path, body, headers) for every captured request of a scenario folder, in arrival order."""
    files = [p for p in folder.rglob("*") if p.is_file() and _SEQ.match(p.name)
             and ".meta." not in p.name and ".decoded." not in p.name and p.parent.name != "hookctx"
             and p.parent.name != "fake_api"]
    out = []
    for p in sorted(files, key=lambda p: p.name):
        body = p.read_bytes()
        name = p.name
        if name.endswith(".gz"):
            body = gzip.decompress(body)
            name = name[:-3]
        if "_v1_" in name:
            signal = name.split("_v1_")[1].split(".")[0]
            ctype = "application/x-protobuf" if name.endswith(".bin") else "application/json"
            out.append((f"/v1/{signal}", body, {"Content-Type": ctype}))
        elif "notify" in name:
            out.append((f"/hooks/{agent}/notify", body, {"Content-Type": "application/json"}))
        else:
            out.append((f"/hooks/{agent}", body, {"Content-Type": "application/json"}))
    return out


def replay(post: Post, folder: Path, agent: str, pid: int | None = None) -> list[int]:
    statuses = []
    for path, body, headers in fixture_requests(folder, agent):
        if pid and path.startswith("/hooks"):
            headers = {**headers, "X-Agent-Pid": str(pid)}
        statuses.append(post(path, body, headers)[0])
    return statuses
