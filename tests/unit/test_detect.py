"""Detector rules against the real pipeline: a real SQLite store, sessions, bus and the 1 s tick.

Events are built from the model and go through Pipeline.ingest, the path every input takes;
thresholds are small and set through the same OBSERVATORY_ALERTS_* environment a user would use.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from observatory import alerts, config, detect
from observatory.app import Observatory, build
from observatory.model import Event, Kind, SessionStatus, Source, Tokens, now_ns
from observatory.store import alerts as sql

NS = 1_000_000_000
_ids = itertools.count(1)


@dataclass
class Rig:
    obs: Observatory

    async def send(self, sid: str, kind: Kind, *, age_s: float = 0, **fields: Any) -> None:
        fields.setdefault("source", Source.HOOK)
        ev = Event(agent="claude", session_id=sid, kind=kind, ts=now_ns() - int(age_s * NS), **fields)
        await self.obs.pipeline.ingest([ev], None)

    async def settle(self) -> None:
        """Until the detector has taken every published message (then a little for its awaits)."""
        consumer = self.obs.services["detector"].consumer
        while consumer.pending:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)

    async def alerts(self, session_id: str | None = None) -> list:
        await self.settle()
        return await self.obs.store.read(sql.list_alerts, session_id, 100)

    async def kinds(self, session_id: str | None = None) -> list[str]:
        return sorted(a.kind for a in await self.alerts(session_id))

    async def wait_for(self, condition: Callable[[], Any], timeout: float = 8.0) -> None:
        deadline = time.monotonic() + timeout
        while not await condition():
            assert time.monotonic() < deadline, "condition not met in time"
            await asyncio.sleep(0.1)


@pytest.fixture
async def make_rig(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    started: list[Observatory] = []

    async def make(**alert_env: str) -> Rig:
        env = {"OBSERVATORY_DATA_DIR": str(tmp_path / f"data{len(started)}"),
               **{f"OBSERVATORY_ALERTS_{k.upper()}": v for k, v in alert_env.items()}}
        obs = build(config.load(env=env))
        obs.store.open()
        await obs.pipeline.restore()
        await alerts.start(obs)
        await detect.start(obs)
        started.append(obs)
        return Rig(obs)

    yield make
    for obs in started:
        await detect.stop(obs)
        await obs.store.close()


def sid() -> str:
    return f"session-{next(_ids)}"


async def test_approval_needed_once_for_permission_request_and_its_later_notification(make_rig):
    rig = await make_rig()
    s = sid()
    await rig.send(s, Kind.PROMPT, key="prompt:p1")
    await rig.send(s, Kind.APPROVAL_NEEDED, tool="Bash", key="approval:p1:x", detail={"command": "rm -f notes.txt"})
    await rig.send(s, Kind.APPROVAL_NEEDED, key="approval:p1:x", detail={"notification_type": "permission_prompt"})
    # An adapter that could not join the two (no key) must still not buzz twice.
    await rig.send(s, Kind.APPROVAL_NEEDED, detail={"notification_type": "permission_prompt"})
    found = await rig.alerts(s)
    assert [a.kind for a in found] == ["approval_needed"]
    assert found[0].body == "Bash: rm -f notes.txt" and found[0].resolved_at is None


async def test_approval_resolves_when_the_session_moves_on_and_a_new_prompt_alerts_again(make_rig):
    rig = await make_rig()
    s = sid()
    await rig.send(s, Kind.APPROVAL_NEEDED, tool="Bash", key="approval:1")
    await rig.send(s, Kind.TOOL_END, tool="Bash", key="tool_end:1")
    first = await rig.alerts(s)
    assert first[0].resolved_at is not None
    await rig.send(s, Kind.APPROVAL_NEEDED, tool="Edit", key="approval:2")
    assert await rig.kinds(s) == ["approval_needed", "approval_needed"]


async def test_completion_after_real_work_at_once_and_not_for_an_instant_empty_turn(make_rig):
    rig = await make_rig()
    busy, idle = sid(), sid()
    await rig.send(busy, Kind.PROMPT)
    await rig.send(busy, Kind.TOOL_START, tool="Bash")
    await rig.send(busy, Kind.TOOL_END, tool="Bash")
    await rig.send(busy, Kind.TURN_END, key="turn_end:1", detail={"last_assistant_message": "All tests pass."})
    await rig.send(idle, Kind.PROMPT)
    await rig.send(idle, Kind.TURN_END)
    found = await rig.alerts(busy)
    assert [(a.kind, a.body) for a in found] == [("completion", "All tests pass.")]
    assert await rig.alerts(idle) == []


async def test_a_long_turn_without_tool_calls_counts_as_work(make_rig):
    rig = await make_rig()
    s = sid()
    await rig.send(s, Kind.PROMPT, age_s=40)
    await rig.send(s, Kind.TURN_END)
    assert await rig.kinds(s) == ["completion"]


async def test_turn_failed_and_crash_kinds(make_rig):
    rig = await make_rig()
    failed, crashed, killed, clean = sid(), sid(), sid(), sid()
    await rig.send(failed, Kind.PROMPT)
    await rig.send(failed, Kind.TURN_END, status="error", detail={"error": "server_error"})
    await rig.send(crashed, Kind.SESSION_START)
    await rig.send(crashed, Kind.PROCESS_EXIT, source=Source.SUPERVISOR, detail={"exit_code": 1})
    await rig.send(killed, Kind.SESSION_START)
    await rig.send(killed, Kind.PROCESS_EXIT, source=Source.SUPERVISOR, detail={"exit_code": None, "signal": "SIGKILL"})
    await rig.send(clean, Kind.SESSION_START)
    await rig.send(clean, Kind.PROCESS_EXIT, source=Source.SUPERVISOR, detail={"exit_code": 0})
    assert [(a.kind, a.body) for a in await rig.alerts(failed)] == [("turn_failed", "server_error")]
    assert [(a.kind, a.body) for a in await rig.alerts(crashed)] == [("crash", "claude exited with code 1")]
    assert [(a.kind, a.body) for a in await rig.alerts(killed)] == [("crash", "claude killed by SIGKILL")]
    assert await rig.alerts(clean) == []


async def test_late_events_update_the_session_but_never_alert(make_rig):
    rig = await make_rig()
    s = sid()
    await rig.send(s, Kind.APPROVAL_NEEDED, age_s=600, tool="Bash")
    await rig.send(s, Kind.PROCESS_EXIT, age_s=300, source=Source.SUPERVISOR, detail={"exit_code": 2})
    assert rig.obs.sessions.get(s).status == SessionStatus.CRASHED
    assert await rig.alerts(s) == []


async def test_error_burst_needs_n_errors_within_the_window(make_rig):
    rig = await make_rig(error_burst_count="3", error_burst_window_s="60")
    s = sid()
    await rig.send(s, Kind.API_ERROR, status="error", detail={"error": "Overloaded"})
    await rig.send(s, Kind.API_ERROR, status="error", detail={"error": "Overloaded"})
    assert await rig.alerts(s) == []
    await rig.send(s, Kind.API_ERROR, status="error", detail={"error": "Overloaded"})
    await rig.send(s, Kind.API_ERROR, status="error", detail={"error": "Overloaded"})
    found = await rig.alerts(s)
    assert [a.kind for a in found] == ["error_burst"]
    assert found[0].body.startswith("3 API errors in 60 s")
    await rig.send(s, Kind.API_REQUEST)
    assert (await rig.alerts(s))[0].resolved_at is not None


async def test_budget_alerts_once_when_the_cost_passes_it(make_rig):
    rig = await make_rig(budget_usd="1.5")
    s = sid()
    await rig.send(s, Kind.API_REQUEST, cost_usd=1.0)
    assert await rig.alerts(s) == []
    await rig.send(s, Kind.API_REQUEST, cost_usd=0.6)
    await rig.send(s, Kind.API_REQUEST, cost_usd=3.0)
    found = await rig.alerts(s)
    assert [(a.kind, a.body) for a in found] == [("budget", "$1.60 spent; the budget is $1.50")]


async def test_budget_counts_estimated_costs_and_says_they_are_estimates(make_rig):
    rig = await make_rig(budget_usd="1")
    s = sid()
    # What the Codex adapter makes of a priced response.completed: tokens and an estimated cost.
    await rig.send(s, Kind.API_REQUEST, cost_usd=1.25, tokens=Tokens(input=1_000_000),
                   detail={"cost_basis": "estimated"})
    found = await rig.alerts(s)
    assert [(a.kind, a.body) for a in found] == [
        ("budget", "about $1.25 spent (estimated from list prices); the budget is $1.00")]


async def test_disabled_kind_never_alerts(make_rig):
    rig = await make_rig(kinds="crash,stall")
    s = sid()
    await rig.send(s, Kind.APPROVAL_NEEDED, tool="Bash")
    await rig.send(s, Kind.TOOL_END, tool="Bash")
    await rig.send(s, Kind.TURN_END)
    assert await rig.alerts(s) == []


@pytest.mark.parametrize("cooldown_s, expected", [("300", ["completion"]), ("0", ["completion", "completion"])])
async def test_cooldown_holds_back_a_second_completion(make_rig, cooldown_s, expected):
    rig = await make_rig(cooldown_s=cooldown_s)
    s = sid()
    for _ in range(2):
        await rig.send(s, Kind.PROMPT)
        await rig.send(s, Kind.API_REQUEST)
        await rig.send(s, Kind.TURN_END)
    assert await rig.kinds(s) == expected
    assert rig.obs.services["alerts"].suppressed == 2 - len(expected)


async def test_stall_marks_the_session_alerts_once_and_resolves_on_activity(make_rig):
    rig = await make_rig(stall_thinking_s="1")
    s = sid()
    await rig.send(s, Kind.PROMPT)
    started = time.monotonic()

    async def stalled() -> bool:
        return rig.obs.sessions.get(s).status == SessionStatus.STALLED and await rig.alerts(s) != []

    await rig.wait_for(stalled)
    assert time.monotonic() - started <= 1 + 2 + 1  # threshold + tick + slack on a busy machine
    await asyncio.sleep(1.5)  # more ticks: still one alert
    found = await rig.alerts(s)
    assert [a.kind for a in found] == ["stall"]
    assert re.fullmatch(r"No progress for \d+ s \(thinking\)", found[0].body)
    await rig.send(s, Kind.API_REQUEST)
    assert rig.obs.sessions.get(s).status == SessionStatus.THINKING
    assert (await rig.alerts(s))[0].resolved_at is not None


async def test_a_long_tool_run_is_not_a_stall_but_its_own_threshold_is(make_rig):
    rig = await make_rig(stall_thinking_s="1", stall_tool_s="60", tool_stall_s='{"Slow": 1}')
    long_run, slow = sid(), sid()
    await rig.send(long_run, Kind.TOOL_START, tool="Bash")
    await rig.send(slow, Kind.TOOL_START, tool="Slow")

    async def slow_stalled() -> bool:
        return await rig.alerts(slow) != []

    await rig.wait_for(slow_stalled)
    assert re.fullmatch(r"No progress for \d+ s \(Slow running\)", (await rig.alerts(slow))[0].body)
    assert rig.obs.sessions.get(long_run).status == SessionStatus.RUNNING_TOOL
    assert await rig.alerts(long_run) == []


async def test_a_stall_that_happened_long_ago_is_marked_without_an_alert(make_rig):
    rig = await make_rig(stall_thinking_s="1")
    s = sid()
    await rig.send(s, Kind.PROMPT, age_s=200)  # e.g. thinking when the server went down

    async def stalled() -> bool:
        return rig.obs.sessions.get(s).status == SessionStatus.STALLED

    await rig.wait_for(stalled)
    assert await rig.alerts(s) == []


@pytest.fixture
def agent_process():
    """A real child process standing in for the agent; killed at the end whatever happened."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child
    child.kill()
    child.wait()


async def test_vanished_pid_is_a_crash_with_one_alert(make_rig, agent_process):
    rig = await make_rig()
    s = sid()
    await rig.send(s, Kind.SESSION_START, pid=agent_process.pid)
    assert rig.obs.sessions.get(s).pid_started_at is not None
    await asyncio.sleep(1.5)  # a tick sees it alive
    assert rig.obs.sessions.get(s).status == SessionStatus.STARTING
    agent_process.kill()
    agent_process.wait()

    async def crashed() -> bool:
        return rig.obs.sessions.get(s).status == SessionStatus.CRASHED and await rig.alerts(s) != []

    await rig.wait_for(crashed)
    found = await rig.alerts(s)
    assert [a.kind for a in found] == ["crash"]
    assert f"(pid {agent_process.pid}) is gone" in found[0].body


async def test_a_clean_session_end_before_exit_is_no_crash(make_rig, agent_process):
    rig = await make_rig()
    s = sid()
    await rig.send(s, Kind.SESSION_START, pid=agent_process.pid)
    await asyncio.sleep(1.2)
    await rig.send(s, Kind.SESSION_END)
    agent_process.kill()
    agent_process.wait()
    await asyncio.sleep(4.5)  # past the grace period
    assert rig.obs.sessions.get(s).status == SessionStatus.ENDED
    assert await rig.alerts(s) == []


async def test_a_pid_gone_before_the_detector_watched_is_marked_crashed_silently(make_rig, agent_process):
    first = await make_rig()
    s = sid()
    await first.send(s, Kind.SESSION_START, pid=agent_process.pid)
    await detect.stop(first.obs)  # the server goes down…
    agent_process.kill()
    agent_process.wait()  # …the agent dies meanwhile…
    detect_again = detect.Detector(first.obs, first.obs.services["alerts"])
    first.obs.services["detector"] = detect_again
    detect_again.start()  # …and it comes back: the death is old news

    async def crashed() -> bool:
        return first.obs.sessions.get(s).status == SessionStatus.CRASHED

    await first.wait_for(crashed)
    assert await first.alerts(s) == []


async def test_open_alerts_survive_a_restart_without_repeating(make_rig):
    rig = await make_rig()
    s = sid()
    await rig.send(s, Kind.APPROVAL_NEEDED, tool="Bash")
    assert await rig.kinds(s) == ["approval_needed"]
    book = alerts.AlertBook(rig.obs)
    await book.load()
    assert book.is_open(s, "approval_needed")
    assert await book.fire(s, "approval_needed", "again", "again") is None
