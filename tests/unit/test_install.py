"""`observatory install / uninstall` on throwaway homes that already hold user settings."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest

from observatory.cli import main

CLAUDE_SETTINGS = """{
    "theme": "dark",
    "env": {"FOO": "bar"},
    "permissions": {"allow": ["Bash(ls:*)"]},
    "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]}
}
"""
CODEX_CONFIG = """# my codex config
model = "gpt-5-codex"  # the default model
approval_policy = "on-request"

[projects."/home/me/src"]
trust_level = "trusted"

[hooks.state."/elsewhere/hooks.json:stop:0:0"]
trusted_hash = "sha256:abc"
"""
GEMINI_SETTINGS = """{
  "security": {"auth": {"selectedType": "gemini-api-key"}},
  "ui": {"theme": "GitHub"}
}
"""
BASHRC = "alias ll='ls -l'\nexport PATH=$HOME/bin:$PATH\n"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".codex").mkdir()
    (home / ".gemini").mkdir()
    (home / ".claude" / "settings.json").write_text(CLAUDE_SETTINGS)
    (home / ".codex" / "config.toml").write_text(CODEX_CONFIG)
    (home / ".gemini" / "settings.json").write_text(GEMINI_SETTINGS)
    (home / ".bashrc").write_text(BASHRC)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SHELL", "/bin/bash")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    for var in ("CODEX_HOME", "CLAUDE_CONFIG_DIR", "GEMINI_CLI_HOME", "OBSERVATORY_PORT", "OBSERVATORY_HOST"):
        monkeypatch.delenv(var, raising=False)
    return home


def run(data: Path, *args: str) -> int:
    return main([*args, "--data-dir", str(data)])


def snapshot(*roots: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for root in roots if root.exists() for p in sorted(root.rglob("*")) if p.is_file()}


def test_install_merges_and_keeps_every_user_setting(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(data, "install") == 0

    claude = json.loads((home / ".claude" / "settings.json").read_text())
    assert claude["theme"] == "dark" and claude["permissions"] == {"allow": ["Bash(ls:*)"]}
    assert claude["env"]["FOO"] == "bar"
    assert claude["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    assert claude["env"]["CLAUDE_CODE_ENABLE_TELEMETRY"] == "1"
    assert claude["hooks"]["Stop"][0] == {"hooks": [{"type": "command", "command": "notify-send done"}]}
    assert claude["hooks"]["Stop"][1]["hooks"][0] == {
        "type": "http", "url": "http://127.0.0.1:4318/hooks/claude", "timeout": 2}
    start = claude["hooks"]["SessionStart"][0]["hooks"][0]
    assert start["type"] == "command" and start["command"].endswith('http://127.0.0.1:4318/hooks/claude "$PPID"')
    assert str(data / "hooks" / "hook.sh") in start["command"]
    assert list(claude)[:3] == ["theme", "env", "permissions"]  # key order kept

    codex_text = (home / ".codex" / "config.toml").read_text()
    assert codex_text.startswith(CODEX_CONFIG.split("\n[")[0].split("\n")[0])
    assert "# my codex config" in codex_text and "# the default model" in codex_text
    codex = tomllib.loads(codex_text)
    assert codex["model"] == "gpt-5-codex" and codex["projects"]["/home/me/src"]["trust_level"] == "trusted"
    assert codex["hooks"]["state"]["/elsewhere/hooks.json:stop:0:0"]["trusted_hash"] == "sha256:abc"
    assert codex["otel"]["exporter"] == {"otlp-http": {"endpoint": "http://127.0.0.1:4318/v1/logs", "protocol": "binary"}}
    assert codex["otel"]["metrics_exporter"]["otlp-http"]["endpoint"] == "http://127.0.0.1:4318/v1/metrics"
    assert codex["notify"][-2:] == ["http://127.0.0.1:4318/hooks/codex/notify", "0"]
    codex_hooks = json.loads((home / ".codex" / "hooks.json").read_text())
    assert list(codex_hooks) == ["hooks"]  # Codex rejects any other top-level key
    assert "PermissionRequest" in codex_hooks["hooks"] and "Stop" in codex_hooks["hooks"]

    gemini = json.loads((home / ".gemini" / "settings.json").read_text())
    assert gemini["security"] == {"auth": {"selectedType": "gemini-api-key"}} and gemini["ui"] == {"theme": "GitHub"}
    assert gemini["telemetry"] == {"enabled": True, "target": "local", "otlpEndpoint": "http://127.0.0.1:4318",
                                   "otlpProtocol": "http"}
    assert gemini["hooksConfig"] == {"enabled": True}
    assert set(gemini["hooks"]) == {"SessionStart", "BeforeAgent", "BeforeTool", "AfterTool", "AfterAgent",
                                    "Notification", "SessionEnd"}
    assert gemini["hooks"]["BeforeTool"][0]["matcher"] == ".*"

    bashrc = (home / ".bashrc").read_text()
    assert bashrc.startswith(BASHRC)
    assert "export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318" in bashrc
    assert (data / "env.sh").read_text() in bashrc


def test_install_twice_equals_once(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(data, "install") == 0
    once = snapshot(home, data / "hooks", data / "env.sh")
    manifest = (data / "integrations.json").read_bytes()
    assert run(data, "install") == 0
    assert snapshot(home, data / "hooks", data / "env.sh") == once
    assert (data / "integrations.json").read_bytes() == manifest


def test_uninstall_restores_byte_for_byte(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    before = snapshot(home)
    assert run(data, "install") == 0
    assert snapshot(home) != before
    assert run(data, "uninstall") == 0
    assert snapshot(home) == before  # hooks.json we created is gone, the rest is the original bytes
    assert not (data / "env.sh").exists() and not (data / "hooks" / "hook.sh").exists()
    assert not (data / "integrations.json").exists()
    assert list((data / "backups").rglob("*settings.json"))  # the backups stay


def test_uninstall_after_user_edits_removes_only_ours(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(data, "install") == 0
    path = home / ".claude" / "settings.json"
    doc = json.loads(path.read_text())
    doc["model"] = "opus"
    doc["hooks"]["PreToolUse"].append({"matcher": "Bash", "hooks": [{"type": "command", "command": "audit"}]})
    path.write_text(json.dumps(doc))
    bashrc = home / ".bashrc"
    bashrc.write_text(bashrc.read_text() + "export EDITOR=vim\n")

    assert run(data, "uninstall") == 0
    after = json.loads(path.read_text())
    original = json.loads(CLAUDE_SETTINGS)
    assert after == {**original, "model": "opus",
                     "hooks": {**original["hooks"],
                               "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "audit"}]}]}}
    assert bashrc.read_text() == BASHRC + "export EDITOR=vim\n"


def test_replaced_user_values_come_back(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    gemini = home / ".gemini" / "settings.json"
    gemini.write_text(json.dumps({"telemetry": {"enabled": False, "otlpEndpoint": "http://collector:4318"}}))
    (home / ".codex" / "config.toml").write_text('notify = ["my-notifier"]\n')
    assert run(data, "install") == 0
    out = capsys.readouterr().out
    assert "replaced your telemetry.otlpEndpoint" in out and "kept your own notify program" in out
    assert tomllib.loads((home / ".codex" / "config.toml").read_text())["notify"] == ["my-notifier"]
    doc = json.loads(gemini.read_text())
    doc["general"] = {"vimMode": True}  # a later user edit: uninstall must take the surgical path
    gemini.write_text(json.dumps(doc))
    assert run(data, "uninstall") == 0
    assert json.loads(gemini.read_text()) == {"telemetry": {"enabled": False, "otlpEndpoint": "http://collector:4318"},
                                              "general": {"vimMode": True}}


def test_dry_run_prints_a_diff_and_writes_nothing(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    before = snapshot(home)
    assert run(data, "install", "--dry-run") == 0
    out = capsys.readouterr().out
    assert f"--- {home}/.claude/settings.json" in out and f"+++ {home}/.claude/settings.json" in out
    assert '+        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"' in out
    assert "+++ " + str(home / ".codex" / "hooks.json") in out
    assert snapshot(home) == before
    assert not data.exists() or not any(data.rglob("*"))

    assert run(data, "install") == 0
    installed = snapshot(home)
    assert run(data, "uninstall", "--dry-run") == 0
    assert "-export OTEL_EXPORTER_OTLP_ENDPOINT" in capsys.readouterr().out
    assert snapshot(home) == installed


def test_target_limits_what_is_touched(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    before = snapshot(home / ".claude", home / ".gemini")
    assert run(data, "install", "--target", "codex") == 0
    assert snapshot(home / ".claude", home / ".gemini") == before
    assert (home / ".codex" / "hooks.json").exists()
    assert run(data, "uninstall", "--target", "codex") == 0
    assert not (home / ".codex" / "hooks.json").exists()
    assert (home / ".codex" / "config.toml").read_text() == CODEX_CONFIG
    assert "agent-observatory" in (home / ".bashrc").read_text()  # shared parts go with `uninstall` (all)


def test_env_dirs_are_respected(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codexhome"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claudedir"))
    monkeypatch.setenv("GEMINI_CLI_HOME", str(tmp_path / "geminihome"))
    assert run(data, "install", "--target", "codex") == 0
    assert run(data, "install", "--target", "claude") == 0
    assert run(data, "install", "--target", "gemini") == 0
    assert (tmp_path / "codexhome" / "config.toml").exists() and (tmp_path / "codexhome" / "hooks.json").exists()
    assert (tmp_path / "claudedir" / "settings.json").exists()
    assert (tmp_path / "geminihome" / ".gemini" / "settings.json").exists()
    assert (home / ".codex" / "config.toml").read_text() == CODEX_CONFIG


def test_port_from_config_reaches_every_file(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("OBSERVATORY_PORT", "4999")
    assert run(data, "install") == 0
    for path in (home / ".claude" / "settings.json", home / ".codex" / "config.toml", home / ".codex" / "hooks.json",
                 home / ".gemini" / "settings.json", home / ".bashrc"):
        text = path.read_text()
        assert "127.0.0.1:4999" in text and "127.0.0.1:4318" not in text, path


def test_broken_user_config_is_refused_untouched(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    (home / ".claude" / "settings.json").write_text('{"theme": "dark",')
    before = snapshot(home)
    assert run(data, "install") == 1
    err = capsys.readouterr().err
    assert "settings.json" in err and "not valid JSON" in err
    assert snapshot(home) == before


def test_nothing_detected_asks_for_a_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("HOME", str(empty))
    monkeypatch.setenv("PATH", "/nonexistent")
    for var in ("CODEX_HOME", "CLAUDE_CONFIG_DIR", "GEMINI_CLI_HOME"):
        monkeypatch.delenv(var, raising=False)
    assert run(tmp_path / "data", "install") == 1
    assert "--target" in capsys.readouterr().err
    assert os.listdir(empty) == []
