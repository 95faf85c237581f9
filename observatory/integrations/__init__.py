"""One module per agent CLI, each owning its CLI's detect / install / uninstall / doctor
checks / resume args; `observatory install|uninstall|doctor` only iterate them.

Each module provides: `name`, `detect(ctx)`, `edits(ctx)`, `install_notes(ctx)`,
`checks(ctx)` and `resume(session_id, argv)`.
"""

from __future__ import annotations

from types import ModuleType

from observatory.integrations import claude, codex, gemini

INTEGRATIONS: dict[str, ModuleType] = {m.name: m for m in (claude, codex, gemini)}
