"""Codex adapter against every captured scenario (real bytes, arrival order)."""

from __future__ import annotations

import json

import pytest
from fixtures_util import events_of, fresh_adapter, jsonl, kinds, merged, replay, scenario_dir, scenarios

from observatory.agents.base import HookCall, LogRecord
from observatory.model import Kind, Source, Tokens

EXEC = ("session_start prompt tool_start tool_end turn_end turn_end session_end "
        "api_request tool_end api_request")
EXPECTED_KINDS = {
    "ok-json": EXEC,
    "ok-protobuf": EXEC,
    "interactive-permission": "session_start prompt tool_start approval_needed turn_end api_request api_request "
                              "tool_end tool_end api_request turn_end turn_end session_end",
}
TITLE_THREAD = "01a2079b-df8a-7ca1-8bd2-2135ba308ada"


def _rollout(scenario: str):
    return next((scenario_dir("codex", scenario) / "session").glob("rollout-*.jsonl"))


def test_fixture_set_is_what_the_tests_expect():
    assert scenarios("codex") == sorted(EXPECTED_KINDS)


@pytest.mark.parametrize("scenario", sorted(EXPECTED_KINDS))
def test_every_file_of_a_scenario_yields_the_expected_events(scenario):
    arrivals = replay("codex", scenario)
    events = events_of(arrivals)
    assert " ".join(kinds(events, skip_metrics=False)) == EXPECTED_KINDS[scenario]
    session = _rollout(scenario).stem[-36:]
    assert {e.session_id for e in events} - {TITLE_THREAD} == {session}
    assert all(e.agent == "codex" and e.ts > 0 for e in events)
    # ~600 internal spans and ~57 metric instruments (no session id): nothing on the timeline.
    assert all(not a.events for a in arrivals if "_v1_traces" in a.path.name or "_v1_metrics" in a.path.name)
    hooks = [e for a in arrivals if a.channel == "hook" for e in a.events]
    assert all(e.source is Source.HOOK and e.received_at == e.ts and e.pid for e in hooks)
    assert all(e.model == "gpt-5-codex" for e in hooks if e.kind is not Kind.SESSION_END)


@pytest.mark.parametrize("scenario", sorted(EXPECTED_KINDS))
def test_api_request_tokens_equal_the_rollout_token_count(scenario):
    session = _rollout(scenario).stem[-36:]
    api = [e for e in events_of(replay("codex", scenario)) if e.kind is Kind.API_REQUEST and e.session_id == session]
    counts = [r["payload"]["info"] for r in jsonl(_rollout(scenario))
              if r["type"] == "event_msg" and r["payload"]["type"] == "token_count"]
    assert [e.tokens.input + e.tokens.cache_read for e in api] == [c["last_token_usage"]["input_tokens"] for c in counts]
    total = counts[-1]["total_token_usage"]
    summed = sum((e.tokens for e in api), Tokens())
    assert summed == Tokens(input=total["input_tokens"] - total["cached_input_tokens"],
                            output=total["output_tokens"] - total["reasoning_output_tokens"],
                            cache_read=total["cached_input_tokens"],
                            cache_write=total["cache_write_input_tokens"], reasoning=total["reasoning_output_tokens"])
    assert summed == Tokens(input=2500, output=52)
    assert len({e.key for e in api}) == len(api)


def test_cached_input_is_split_out_of_input():
    adapter = fresh_adapter("codex")
    attrs = {"event.name": "codex.sse_event", "event.kind": "response.completed", "conversation.id": "c",
             "input_token_count": "1000", "cached_token_count": "800", "output_token_count": "5",
             "reasoning_token_count": "3", "cache_write_token_count": "0"}
    rec = LogRecord(resource={}, scope="codex_otel.log_only", attrs=attrs, body=None, time_ns=0, observed_ns=7)
    (event,) = adapter.normalise_log(rec)
    assert event.tokens == Tokens(input=200, output=2, cache_read=800, reasoning=3)  # reasoning is part of the 5
    assert event.ts == 7  # timeUnixNano is 0 on every Codex log record


def test_hook_notify_and_otel_merge_by_call_id_and_turn_id():
    events = events_of(replay("codex", "ok-json"))
    ends = [e for e in events if e.kind is Kind.TOOL_END]
    assert [(e.name, e.tool) for e in ends] == [("PostToolUse", "Bash"), ("codex.tool_result", "exec_command")]
    assert {e.key for e in ends} == {"tool_end:call_06cd37efaf5e483b"}
    assert ends[0].detail["output"] == "hello\n" and ends[1].duration_ms == 68
    assert ends[0].detail["command"] == ends[1].detail["command"] == "echo hello"
    turns = [e for e in events if e.kind is Kind.TURN_END]
    assert [e.name for e in turns] == ["Stop", "agent-turn-complete"]
    assert {e.key for e in turns} == {"turn_end:01a20797-c3a1-7e81-b9fa-de3a1c788283"}
    assert " ".join(kinds(merged(events))) == ("session_start prompt tool_start tool_end turn_end session_end "
                                               "api_request api_request")


def test_title_thread_appears_only_by_otlp_and_notify():
    arrivals = replay("codex", "interactive-permission")
    title = [(a.channel, e) for a in arrivals for e in a.events if e.session_id == TITLE_THREAD]
    assert sorted(c for c, _ in title) == ["notify", "otlp"]
    assert all(e.kind in (Kind.TURN_END, Kind.API_REQUEST) for _, e in title)
    hook_sessions = {e.session_id for a in arrivals if a.channel == "hook" for e in a.events}
    assert TITLE_THREAD not in hook_sessions
    assert not fresh_adapter("codex").otlp_creates_sessions


def test_permission_request_is_one_approval_with_the_tool():
    events = events_of(replay("codex", "interactive-permission"))
    (approval,) = [e for e in events if e.kind is Kind.APPROVAL_NEEDED]
    assert approval.tool == "Bash" and approval.detail["command"] == "echo hello"
    assert approval.key.startswith("approval:01a2079b-ded6-7d33-8696-65b839785df0:")
    assert approval.detail["cwd"].endswith("/interactive-permission/work")


def test_denied_tool_decision_ends_the_tool():
    rec = LogRecord(resource={}, scope="", body=None, time_ns=0, observed_ns=3,
                    attrs={"event.name": "codex.tool_decision", "conversation.id": "c", "call_id": "call_1",
                           "tool_name": "exec_command", "decision": "denied", "source": "User"})
    (event,) = fresh_adapter("codex").normalise_log(rec)
    assert (event.kind, event.status, event.key) == (Kind.TOOL_END, "error", "tool_end:call_1")


@pytest.mark.parametrize("payload", [{}, {"type": "agent-turn-complete"}, {"thread-id": 5}, []])
def test_malformed_notify_returns_nothing(payload):
    assert fresh_adapter("codex").normalise_notify(payload, 1) == []


def test_unknown_names_are_counted_not_dropped():
    adapter = fresh_adapter("codex")
    (notify,) = adapter.normalise_notify({"type": "new-type", "thread-id": "t"}, 1)
    rec = LogRecord(resource={}, scope="", body=None, time_ns=0, observed_ns=1,
                    attrs={"event.name": "codex.brand_new", "conversation.id": "c"})
    (log,) = adapter.normalise_log(rec)
    (hook,) = adapter.normalise_hook(HookCall({"session_id": "s", "hook_event_name": "Brand"}, 1))
    assert all((e.kind, e.status) == (Kind.OTHER, "unknown") for e in (notify, log, hook))
    flush = LogRecord(resource={}, scope="codex_otel::metrics::client", body="flushing OTEL metrics", attrs={},
                      time_ns=0, observed_ns=1)
    assert adapter.normalise_log(flush) == []  # no conversation id


def test_wrong_field_types_inside_a_hook_never_raise():
    for path in sorted(scenario_dir("codex", "interactive-permission").glob("*_hooks_*.json")):
        if path.name.endswith(".meta.json"):
            continue
        payload = json.loads(path.read_text())
        for field in set(payload) - {"session_id", "hook_event_name"}:
            for value in (None, 1, [], {}, {"x": []}):
                fresh_adapter("codex").normalise_hook(HookCall({**payload, field: value}, 1))
