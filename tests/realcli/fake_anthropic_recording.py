"""The capture harness's fake Anthropic API, also recording what the model was told.

Each /v1/messages request's last user content (tool results included) is appended to
$FAKE_LOG_DIR/user_content.jsonl, so a test can see what the agent told the model, e.g.
the message of a denied permission. FAKE_TOOL_COMMAND picks the command the model runs.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "shared" / "tools" / "claude_capture"))
import fake_anthropic  # noqa: E402

RECORD = Path(os.environ["FAKE_LOG_DIR"]) / "user_content.jsonl"
_plan_reply = fake_anthropic.plan_reply


def recording_plan_reply(body):  # noqa: ANN001, ANN201 (the harness's own signature)
    if body.get("tools"):
        with fake_anthropic._lock, RECORD.open("a") as fh:
            fh.write(json.dumps(fake_anthropic.last_user_content(body)) + "\n")
    return _plan_reply(body)


fake_anthropic.plan_reply = recording_plan_reply

if __name__ == "__main__":
    fake_anthropic.main()
