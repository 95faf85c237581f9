"""`observatory run` with real fake-agent processes, through a real server."""

from __future__ import annotations

import time
import uuid

import pytest

from control_harness import (
    Supervised,
    alive,
    audit,
    control,
    events,
    session,
    wait_action,
    wait_for,
    wait_session,
)
from serverproc import start_server


@pytest.fixture
def agent_factory(tmp_path):
    started: list[Supervised] = []

    def make(server, script: str, *args: str, **kw) -> Supervised:
        sup = Supervised(server, tmp_path, script, *args, **kw)
        started.append(sup)
        return sup

    yield make
    for sup in started:
        sup.stop()


def sid() -> str:
    return str(uuid.uuid4())


def test_kill_stops_the_whole_group_including_grandchildren(server, agent_factory):
    s = sid()
    agent = agent_factory(server, "claude_grandchildren.py", "--session-id", s)
    rec = agent.wait_records(1)[0]
    wait_session(server, s, supervised=True)
    assert rec["supervisor_id"] and rec["pgid"] == rec["pid"]  # its own process group
    tree = [rec["pid"], *rec["grandchildren"]]
    assert all(alive(p) for p in tree)

    status, body, _ = control(server, s, "kill")
    assert status == 202, body
    assert body["via"] == "supervisor"
    action = wait_action(server, body["action_id"])
    assert action["status"] == "succeeded", action
    assert action["detail"]["signal"] == 15 and action["detail"]["escalated"] is False
    assert not any(alive(p) for p in tree)
    assert agent.wait() == 128 + 15
    exits = events(server, s, "process_exit")
    assert [e["detail"]["signal"] for e in exits] == [15]
    assert exits[0]["detail"]["supervisor_id"] == rec["supervisor_id"]
    assert exits[0]["source"] == "supervisor"
    entries = [a for a in audit(server) if a["action_id"] == body["action_id"]]
    assert entries and entries[0]["who"] == "token" and entries[0]["outcome"] == "succeeded"
    assert entries[0]["pid"] == rec["pid"]


def test_agent_ignoring_sigterm_is_sigkilled_after_the_grace_period(tmp_path, agent_factory):
    server = start_server(tmp_path / "data", env={"OBSERVATORY_CONTROL_KILL_GRACE_S": "1"})
    try:
        s = sid()
        agent = agent_factory(server, "claude_ignore_term.py", "--session-id", s)
        pid = agent.wait_records(1)[0]["pid"]
        wait_session(server, s, supervised=True)
        started = time.monotonic()
        status, body, _ = control(server, s, "kill")
        assert status == 202
        action = wait_action(server, body["action_id"])
        elapsed = time.monotonic() - started
        assert action["status"] == "succeeded"
        assert action["detail"]["escalated"] is True and action["detail"]["signal"] == 9
        assert elapsed >= 1.0
        assert not alive(pid)
        assert agent.wait() == 128 + 9
        wait_session(server, s, status="ended")  # stopped on purpose: not a crash
    finally:
        server.stop()


def test_exit_3_is_a_crash_with_certainty(server, agent_factory):
    s = sid()
    agent = agent_factory(server, "claude_exit3.py", "--session-id", s, "--after", "0.5")
    assert agent.wait() == 3
    crashed = wait_session(server, s, status="crashed")
    assert crashed["supervised"] is True
    exits = events(server, s, "process_exit")
    assert len(exits) == 1
    assert exits[0]["detail"]["exit_code"] == 3 and exits[0]["detail"]["restarting"] is False
    assert exits[0]["status"] == "error"


def test_restart_resumes_the_same_session(server, agent_factory):
    s = sid()
    agent = agent_factory(server, "claude_sleep.py", "--session-id", s)
    first = agent.wait_records(1)[0]
    wait_session(server, s, supervised=True, pid=first["pid"])

    status, body, _ = control(server, s, "restart")
    assert status == 202, body
    action = wait_action(server, body["action_id"])
    assert action["status"] == "succeeded", action
    second = agent.wait_records(2)[1]
    assert second["argv"] == ["--resume", s]
    assert second["supervisor_id"] == first["supervisor_id"]
    assert not alive(first["pid"]) and alive(second["pid"])
    assert action["detail"]["pid"] == second["pid"]
    resumed = wait_session(server, s, pid=second["pid"], status="starting")
    assert resumed["restarted"] == 1 and resumed["supervised"] is True
    assert [e["detail"]["restarting"] for e in events(server, s, "process_exit")] == [True]
    assert len(server.get("/api/sessions")["sessions"]) == 1  # the same row continued

    status, body, _ = control(server, s, "kill")
    assert wait_action(server, body["action_id"])["status"] == "succeeded"
    assert agent.wait() == 128 + 15


def test_kill_while_restarting_ends_with_the_agent_stopped(server, agent_factory):
    s = sid()
    agent = agent_factory(server, "claude_sleep.py", "--session-id", s)
    agent.wait_records(1)
    wait_session(server, s, supervised=True)
    status_r, restart, _ = control(server, s, "restart")
    status_k, kill, _ = control(server, s, "kill")
    assert (status_r, status_k) == (202, 202)
    # Serialised in arrival order: the restart completes, then the kill stops the new agent.
    assert wait_action(server, restart["action_id"])["status"] == "succeeded"
    assert wait_action(server, kill["action_id"])["status"] == "succeeded"
    assert agent.wait() == 128 + 15
    assert not any(alive(r["pid"]) for r in agent.records())
    assert wait_session(server, s, status="ended")["restarted"] == 1


def test_server_down_the_agent_runs_undisturbed(tmp_path, agent_factory):
    server = start_server(tmp_path / "data")
    server.stop()  # a data dir with a token, but nobody listening
    ok = agent_factory(server, "claude_sleep.py", "--sleep", "1")
    assert ok.wait() == 0
    assert "agent running" in ok.output() and "agent done" in ok.output()
    crash = agent_factory(server, "claude_exit3.py", "--after", "0.2")
    started = time.monotonic()
    assert crash.wait() == 3
    assert time.monotonic() - started < 5  # never reached a server: no waiting to report


def test_supervisor_survives_a_server_restart(tmp_path, agent_factory):
    data = tmp_path / "data"
    server = start_server(data)
    try:
        s = sid()
        agent = agent_factory(server, "claude_exit3.py", "--session-id", s, "--after", "2")
        rec = agent.wait_records(1)[0]
        wait_session(server, s, supervised=True)
        port = server.port
        server.stop()
        wait_for(lambda: not alive(rec["pid"]), 10, "the agent to exit while the server is down")
        server = start_server(data, "--port", str(port))
        assert agent.wait() == 3  # it delivered the exit report, then ended with the agent's code
        crashed = wait_session(server, s, status="crashed")
        assert crashed["supervised"] is True
        assert [e["detail"]["exit_code"] for e in events(server, s, "process_exit")] == [3]
    finally:
        server.stop()


def test_supervisor_reconnects_and_still_obeys_after_a_server_restart(tmp_path, agent_factory):
    data = tmp_path / "data"
    server = start_server(data)
    try:
        s = sid()
        agent = agent_factory(server, "claude_sleep.py", "--session-id", s)
        agent.wait_records(1)
        wait_session(server, s, supervised=True)
        port = server.port
        server.stop()
        server = start_server(data, "--port", str(port))
        wait_for(lambda: any(x["connected"] and x["session_id"] == s
                             for x in server.get("/api/supervisors")["supervisors"]), 20, "the supervisor to reconnect")
        status, body, _ = control(server, s, "kill")
        assert status == 202 and body["via"] == "supervisor"
        assert wait_action(server, body["action_id"])["status"] == "succeeded"
        assert agent.wait() == 128 + 15
    finally:
        server.stop()


def test_unlinked_supervisor_exit_goes_to_the_audit_log(server, agent_factory):
    agent = agent_factory(server, "claude_exit3.py", "--after", "0.3")  # no session id: never links
    assert agent.wait() == 3
    entries = wait_for(lambda: [a for a in audit(server) if a["action"] == "process_exit"], 10, "audit entry")
    assert entries[0]["who"].startswith("supervisor:") and entries[0]["result"] == "exit code 3"
    assert session(server, "supervisor") is None


def test_a_crashed_session_can_be_restarted_while_the_supervisor_lingers(server, agent_factory):
    s = sid()
    agent = agent_factory(server, "claude_exit3.py", "--session-id", s, "--after", "0.3", linger=60)
    agent.wait_records(1)
    wait_session(server, s, status="crashed", supervised=True)
    assert agent.proc.poll() is None  # waiting for a restart from the dashboard

    status, body, _ = control(server, s, "restart")
    assert status == 202
    assert wait_action(server, body["action_id"])["status"] == "succeeded"
    assert agent.wait_records(2)[1]["argv"] == ["--after", "0.3", "--resume", s]
    wait_session(server, s, status="crashed", restarted=1)
    wait_for(lambda: len(events(server, s, "process_exit")) == 2, 15, "the resumed agent's exit")

    status, body, _ = control(server, s, "kill")  # while lingering again: nothing to kill, it ends
    action = wait_action(server, body["action_id"])
    assert action["status"] == "succeeded" and action["detail"]["note"] == "the agent had already exited"
    assert agent.wait() == 3
    assert "Waiting up to 60 s for a restart" in agent.output()


def test_an_agent_below_a_wrapper_shell_is_linked_as_a_descendant(server, agent_factory):
    s = sid()
    agent = agent_factory(server, "claude_grandchildren.py", "--session-id", s, wrapper="sh")
    rec = agent.wait_records(1)[0]
    wait_session(server, s, supervised=True, pid=rec["pid"])
    assert rec["pgid"] != rec["pid"]  # the agent is the shell's child, in the supervisor's new group
    status, body, _ = control(server, s, "kill")
    assert status == 202 and body["via"] == "supervisor"
    assert wait_action(server, body["action_id"])["status"] == "succeeded"
    assert not any(alive(p) for p in [rec["pid"], *rec["grandchildren"]])
    assert agent.wait() == 128 + 15


def test_kill_and_restart_the_user_asked_for_never_push_a_crash(tmp_path, agent_factory):
    from pushdouble import PushDouble, serve_with_push, subscribe
    with PushDouble() as double:
        server, headers = serve_with_push(tmp_path / "data", double)
        try:
            subscribe(server, headers, double, "phone")
            s = sid()
            agent_factory(server, "claude_sleep.py", "--session-id", s).wait_records(1)
            wait_session(server, s, supervised=True)
            for action in ("restart", "kill"):
                status, body, _ = control(server, s, action)
                assert status == 202 and wait_action(server, body["action_id"])["status"] == "succeeded"
            assert wait_session(server, s, status="ended")["restarted"] == 1
            crasher = sid()
            agent_factory(server, "claude_exit3.py", "--session-id", crasher, "--after", "0.5")
            wait_session(server, crasher, status="crashed")
            wait_for(lambda: double.requests("phone"), 10, "the crash push")
            kinds = [r.payload["kind"] for r in double.requests("phone")]
            assert [k for k in kinds if k == "crash"] == ["crash"]
            assert all(r.payload["session_id"] == crasher for r in double.requests("phone") if r.payload["kind"] == "crash")
        finally:
            server.stop()
