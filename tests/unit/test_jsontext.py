"""The hot paths' JSON encoder writes exactly what json.dumps(separators=(",", ":"), default=str) writes."""

import json
import math
from pathlib import Path

from observatory.jsontext import compact


def test_compact_text_is_json_dumps_text() -> None:
    values = [
        {"command": "ls -la", "n": 3, "ok": True, "none": None, "x": 1.5, "nested": {"a": [1, "b", {"c": None}]}},
        {"prompt": "naïve — ünïcode ✓ and \"quotes\" \\ and \n newlines \u2028", "emoji": "🙂"},
        {"nan": math.nan, "inf": math.inf, "big": 2**70, "neg": -0.0},
        {"path": Path("/tmp/x"), "set": {1}},  # not JSON: written with str(), as default=str does
        "a plain string", 42, None, [], {},
        {1: "int key", True: "bool key"},
    ]
    for value in values:
        assert compact(value) == json.dumps(value, separators=(",", ":"), default=str)
