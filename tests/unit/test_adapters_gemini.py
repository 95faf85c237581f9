"""Gemini CLI adapter against the captured scenario (real bytes, arrival order)."""

from __future__ import annotations

import json

import pytest
from fixtures_util import events_of, fresh_adapter, jsonl, kinds, merged, replay, scenario_dir, scenarios

from observatory.agents.base import HookCall, LogRecord
from observatory.model import Kind, Source, Tokens

SCENARIO = "ok-http-json"
SESSION = "9edd76e7-4127-4ded-aae0-bc29730c7c8a"
EXPECTED_KINDS = ("session_start prompt tool_start tool_end turn_end session_end "
                  "prompt api_request api_request tool_end api_request")
EXPECTED_MERGED = "session_start prompt tool_start tool_end turn_end session_end api_request api_request api_request"


def test_fixture_set_is_what_the_tests_expect():
    assert scenarios("gemini") == [SCENARIO]


def test_every_file_yields_the_expected_events():
    arrivals = replay("gemini", SCENARIO)
    events = events_of(arrivals)
    assert " ".join(kinds(events)) == EXPECTED_KINDS
    assert {e.session_id for e in events} == {SESSION}
    assert all(e.agent == "gemini" and e.ts > 0 for e in events)
    # BeforeModel/AfterModel chunks, BeforeToolSelection and the per-turn PreCompress: nothing.
    silent = [a.path.name[5:-5] for a in arrivals if a.channel == "hook" and not a.events]
    assert silent == ["hooks_PreCompress", "hooks_BeforeModel", "hooks_BeforeToolSelection", "hooks_AfterModel",
                      "hooks_PreCompress", "hooks_BeforeModel", "hooks_BeforeToolSelection", "hooks_AfterModel",
                      "hooks_AfterModel"]
    hooks = [e for a in arrivals if a.channel == "hook" for e in a.events]
    # Gemini's hooks carry their own timestamp: the first is 2026-11-23T08:49:45.758Z.
    # (round: model.parse_iso goes through a float and is off by ~100 ns)
    assert round(hooks[0].ts / 1e6) == 1795423785758 and hooks[0].received_at != hooks[0].ts
    assert all(e.source is Source.HOOK and e.cwd.endswith("/work") for e in hooks)
    (spans,) = [a for a in arrivals if "_v1_traces" in a.path.name]
    assert spans.events == []


def test_both_channels_merge_without_ids():
    events = events_of(replay("gemini", SCENARIO))
    ends = [e for e in events if e.kind is Kind.TOOL_END]
    assert [(e.name, e.tool) for e in ends] == [("AfterTool", "run_shell_command"),
                                                 ("gemini_cli.tool_call", "run_shell_command")]
    assert ends[0].key == ends[1].key and ends[0].key.endswith("#0")
    assert ends[1].duration_ms == 95 and ends[0].detail["output"] == "hello"
    prompts = [e for e in events if e.kind is Kind.PROMPT]
    assert [e.name for e in prompts] == ["BeforeAgent", "gemini_cli.user_prompt"]
    assert prompts[0].key == prompts[1].key
    assert " ".join(kinds(merged(events))) == EXPECTED_MERGED


def test_repeated_identical_tool_calls_stay_distinct_and_pair_in_order():
    """Two `npm test` runs in one session: two tool_ends, each hook paired with its log."""
    adapter = fresh_adapter("gemini")
    after = json.loads((scenario_dir("gemini", SCENARIO) / "0008_hooks_AfterTool.json").read_text())
    hook_keys = [adapter.normalise_hook(HookCall(after, i))[0].key for i in range(2)]
    attrs = {"event.name": "gemini_cli.tool_call", "session.id": SESSION, "function_name": "run_shell_command",
             "function_args": '{\n  "command": "echo hello",\n  "description": "print hello"\n}', "success": True}
    rec = LogRecord(resource={}, scope="gemini-cli", attrs=attrs, body=None, time_ns=5, observed_ns=5)
    log_keys = [adapter.normalise_log(rec)[0].key for _ in range(2)]
    assert hook_keys == log_keys and hook_keys[0] != hook_keys[1]


def test_api_tokens_equal_the_session_file_plus_the_router_call():
    api = [e for e in events_of(replay("gemini", SCENARIO)) if e.kind is Kind.API_REQUEST]
    session_file = next((scenario_dir("gemini", SCENARIO) / "session").glob("*.jsonl"))
    usage = {}
    for row in jsonl(session_file):  # message lines are re-written with the same id: last wins
        msg = row.get("$set", row)
        if isinstance(msg, dict) and msg.get("tokens"):
            usage[msg["id"]] = msg["tokens"]
    main = [e for e in api if e.detail["role"] == "main"]
    assert sum((e.tokens for e in main), Tokens()) == Tokens(
        input=sum(t["input"] - t["cached"] for t in usage.values()),
        output=sum(t["output"] for t in usage.values()),
        cache_read=sum(t["cached"] for t in usage.values()),
        reasoning=sum(t["thoughts"] for t in usage.values()))
    (router,) = [e for e in api if e.detail["role"] == "utility_router"]
    assert router.tokens == Tokens(input=50, output=5) and router.model == "gemini-3.5-flash-lite"
    assert [e.model for e in main] == ["gemini-3.8-flash", "gemini-3.8-flash"]
    assert len({e.key for e in api}) == len(api)


def test_metrics_carry_the_session_but_never_tokens():
    events = events_of(replay("gemini", SCENARIO))
    metrics = [e for e in events if e.kind is Kind.METRIC]
    assert metrics and all(not e.tokens and e.cost_usd == 0 for e in metrics)
    assert {e.detail["temporality"] for e in metrics} == {"cumulative"}
    assert "gemini_cli.token.usage" in {e.name for e in metrics}


def test_prompt_without_text_is_not_claimed_as_a_prompt():
    rec = LogRecord(resource={"session.id": SESSION}, scope="gemini-cli", body=None, time_ns=1, observed_ns=1,
                    attrs={"event.name": "gemini_cli.user_prompt", "prompt_length": 12})
    (event,) = fresh_adapter("gemini").normalise_log(rec)
    assert event.kind is Kind.OTHER and event.session_id == SESSION


def test_unknown_names_are_counted_not_dropped():
    adapter = fresh_adapter("gemini")
    rec = LogRecord(resource={"session.id": SESSION}, scope="", body=None, time_ns=1, observed_ns=1,
                    attrs={"event.name": "gemini_cli.brand_new"})
    (log,) = adapter.normalise_log(rec)
    (hook,) = adapter.normalise_hook(HookCall({"session_id": "s", "hook_event_name": "BrandNew"}, 1))
    assert all((e.kind, e.status) == (Kind.OTHER, "unknown") for e in (log, hook))


@pytest.mark.parametrize("payload", [{}, {"session_id": None, "hook_event_name": "AfterTool"}, {"session_id": "s"}])
def test_malformed_hook_envelope_returns_nothing(payload):
    assert fresh_adapter("gemini").normalise_hook(HookCall(payload, 1)) == []


def test_wrong_field_types_inside_a_hook_never_raise():
    for path in sorted(scenario_dir("gemini", SCENARIO).glob("*_hooks_*.json")):
        if path.name.endswith(".meta.json"):
            continue
        payload = json.loads(path.read_text())
        for field in set(payload) - {"session_id", "hook_event_name"}:
            for value in (None, 1, [], {}, {"x": []}, "not a time"):
                fresh_adapter("gemini").normalise_hook(HookCall({**payload, field: value}, 1))
