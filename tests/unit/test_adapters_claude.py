"""Claude Code adapter against every captured scenario (real bytes, arrival order)."""

from __future__ import annotations

import json

import pytest
from fixtures_util import (
    HOOK_PID,
    events_of,
    fresh_adapter,
    jsonl,
    kinds,
    merged,
    replay,
    scenario_dir,
    scenarios,
)

from observatory import agents
from observatory.agents.base import HookCall, LogRecord, MetricPoint
from observatory.model import Kind, Source, Tokens

COST_PER_CALL = 0.001665
TOKENS_PER_CALL = Tokens(input=123, output=42)

# Metric events left out (counted below); hooks and OTLP interleaved as they arrived.
EXPECTED_KINDS = {
    "ok-json": "session_start prompt tool_start tool_end prompt api_request tool_end turn_end api_request "
               "session_end",
    "ok-protobuf": "session_start prompt tool_start prompt api_request tool_end turn_end tool_end api_request "
                   "session_end",
    "tool-failure": "session_start prompt tool_start tool_end prompt api_request tool_end turn_end api_request "
                    "session_end",
    "api-error-500-then-ok": "session_start prompt prompt tool_start tool_end turn_end api_request tool_end "
                             "api_request session_end",
    "api-error-529": "session_start prompt prompt api_error turn_end turn_end session_end",
    "permission-denied": "session_start prompt tool_start turn_end prompt api_request api_request session_end",
    "subagent": "session_start prompt tool_start other prompt api_request tool_start tool_end subagent_end "
                "tool_end api_request tool_end api_request other tool_end turn_end api_request session_end",
    "interactive-permission": "session_start prompt tool_start prompt api_request approval_needed api_request "
                              "approval_needed tool_end turn_end other session_end",
    "interactive-idle": "session_start prompt tool_start prompt api_request api_request tool_end turn_end "
                        "tool_end api_request turn_end other session_end",
}
EXPECTED_METRICS = {"ok-json": 7, "ok-protobuf": 7, "tool-failure": 7, "api-error-500-then-ok": 12,
                    "api-error-529": 2, "permission-denied": 7, "subagent": 17,
                    "interactive-permission": 14, "interactive-idle": 15}
# After merging by key: one event per fact.
EXPECTED_MERGED = {
    "ok-json": "session_start prompt tool_start tool_end api_request turn_end api_request session_end",
    "api-error-529": "session_start prompt api_error turn_end session_end",
    "interactive-permission": "session_start prompt tool_start api_request approval_needed api_request "
                              "tool_end turn_end other session_end",
    "interactive-idle": "session_start prompt tool_start api_request api_request tool_end turn_end "
                        "api_request other session_end",
}


def test_fixture_set_is_what_the_tests_expect():
    assert scenarios("claude") == sorted(EXPECTED_KINDS)


@pytest.mark.parametrize("scenario", sorted(EXPECTED_KINDS))
def test_every_file_of_a_scenario_yields_the_expected_events(scenario):
    arrivals = replay("claude", scenario)
    events = events_of(arrivals)
    assert " ".join(kinds(events)) == EXPECTED_KINDS[scenario]
    assert sum(e.kind is Kind.METRIC for e in events) == EXPECTED_METRICS[scenario]
    transcript = next((scenario_dir("claude", scenario) / "transcript").glob("*.jsonl"))
    assert {e.session_id for e in events} == {transcript.stem}
    assert {e.agent for e in events} == {"claude"}
    assert all(e.ts > 0 and e.name for e in events)
    for a in arrivals:
        for e in a.events:
            if a.channel == "hook":
                assert (e.source, e.pid, e.received_at) == (Source.HOOK, HOOK_PID, e.ts)
                assert e.cwd and e.cwd.endswith(f"/{scenario}/work")
            else:
                assert e.source in (Source.OTLP_LOG, Source.OTLP_METRIC) and e.received_at == 0


@pytest.mark.parametrize("scenario", sorted(EXPECTED_KINDS))
def test_a_key_never_joins_different_kinds(scenario):
    by_key: dict[str, set[str]] = {}
    for e in events_of(replay("claude", scenario)):
        if e.key:
            by_key.setdefault(e.key, set()).add(e.kind.value)
    assert all(len(k) == 1 for k in by_key.values()), by_key


@pytest.mark.parametrize("scenario", sorted(EXPECTED_MERGED))
def test_merging_by_key_leaves_one_event_per_fact(scenario):
    assert " ".join(kinds(merged(events_of(replay("claude", scenario))))) == EXPECTED_MERGED[scenario]


def _assistant_usage(path) -> dict[str, Tokens]:
    """request id → usage, from a transcript (synthetic error messages carry no usage)."""
    out = {}
    for row in jsonl(path):
        usage = row.get("message", {}).get("usage") if row.get("type") == "assistant" else None
        if usage and (usage.get("input_tokens") or usage.get("output_tokens")):
            out[row["requestId"]] = Tokens(input=usage["input_tokens"], output=usage["output_tokens"],
                                           cache_read=usage.get("cache_read_input_tokens", 0),
                                           cache_write=usage.get("cache_creation_input_tokens", 0))
    return out


@pytest.mark.parametrize("scenario", sorted(EXPECTED_KINDS))
def test_api_request_tokens_equal_the_transcripts(scenario):
    """Main and subagent transcripts hold every model call except the TTY's title call."""
    events = merged(events_of(replay("claude", scenario)))
    api = [e for e in events if e.kind is Kind.API_REQUEST]
    transcripts = {}
    for path in (scenario_dir("claude", scenario) / "transcript").rglob("*.jsonl"):
        transcripts[path.parent.name == "subagents"] = _assistant_usage(path)
    for subagent, usage in transcripts.items():
        mine = [e for e in api if e.detail["query_source"].startswith("agent:") == subagent
                and e.detail["query_source"] != "generate_session_title"]
        assert {e.detail["request_id"] for e in mine} == set(usage)
        assert sum((e.tokens for e in mine), Tokens()) == sum(usage.values(), Tokens())
    title = [e for e in api if e.detail["query_source"] == "generate_session_title"]
    assert len(title) == (1 if scenario.startswith("interactive") else 0)
    assert sum((e.tokens for e in api), Tokens()) == Tokens(
        input=TOKENS_PER_CALL.input * len(api), output=TOKENS_PER_CALL.output * len(api))
    assert sum(e.cost_usd for e in api) == pytest.approx(COST_PER_CALL * len(api))
    assert all(e.model == "claude-opus-4-8" and e.duration_ms for e in api)


def test_subagent_calls_are_counted_once_and_attributed():
    events = merged(events_of(replay("claude", "subagent")))
    api = [e for e in events if e.kind is Kind.API_REQUEST]
    assert [e.detail.get("agent_name") for e in api] == [None, "general-purpose", "general-purpose", None]
    (end,) = [e for e in events if e.kind is Kind.SUBAGENT_END]
    assert end.key == "subagent_end:a5c35ec1fac29d48b" and end.detail["agent_type"] == "general-purpose"
    tools = [(e.tool, e.name) for e in events if e.kind is Kind.TOOL_END]
    assert tools == [("Bash", "PostToolUse"), ("Agent", "PostToolUse")]


def test_hook_and_otel_tool_end_share_the_tool_use_id_and_the_failure():
    events = events_of(replay("claude", "tool-failure"))
    ends = [e for e in events if e.kind is Kind.TOOL_END]
    assert [e.name for e in ends] == ["PostToolUseFailure", "claude_code.tool_result"]
    assert {e.key for e in ends} == {"tool_end:toolu_fbc41064ca7b46ff9c29e301"}
    assert [e.status for e in ends] == ["error", "error"]
    assert ends[0].detail["error"].startswith("Exit code 2") and ends[0].duration_ms == 33
    assert ends[1].detail["error"] == "Shell command failed" and ends[1].duration_ms == 33
    assert ends[0].detail["command"] == ends[1].detail["command"] == "ls /nonexistent-dir-xyz"
    (start,) = [e for e in events if e.kind is Kind.TOOL_START]
    assert (start.tool, start.key) == ("Bash", "tool_start:toolu_fbc41064ca7b46ff9c29e301")


def test_success_string_true_is_ok():
    ends = [e for e in events_of(replay("claude", "ok-protobuf")) if e.kind is Kind.TOOL_END]
    assert [(e.name, e.status) for e in ends] == [("PostToolUse", "ok"), ("claude_code.tool_result", "ok")]
    assert ends[0].detail["output"] == "hello" and ends[1].duration_ms == 85


def test_failed_turn_is_one_event_with_both_channels_keys():
    events = events_of(replay("claude", "api-error-529"))
    ends = [e for e in events if e.kind is Kind.TURN_END]
    assert [e.name for e in ends] == ["claude_code.api_retries_exhausted", "StopFailure"]
    assert {e.key for e in ends} == {"turn_end:6ae7acf1-6c6c-4bb3-b5f8-3c18fa9e4ea8"}
    assert all(e.status == "error" for e in ends)
    assert ends[1].detail["error"] == "server_error"
    (err,) = [e for e in events if e.kind is Kind.API_ERROR]
    assert (err.status, err.detail["status_code"], err.detail["attempt"]) == ("error", 529, 2)
    assert not any(e.kind is Kind.API_REQUEST for e in events)


def test_permission_prompt_reminder_merges_with_the_request():
    events = events_of(replay("claude", "interactive-permission"))
    approvals = [e for e in events if e.kind is Kind.APPROVAL_NEEDED]
    assert [e.name for e in approvals] == ["PermissionRequest", "Notification"]
    assert approvals[0].key == approvals[1].key
    assert approvals[0].tool == "Bash" and approvals[0].detail["command"] == "rm -f notes.txt"
    assert approvals[0].detail["permission_suggestions"][0]["type"] == "addDirectories"
    # Esc: the tool is rejected and Claude waits for the user, without a Stop hook.
    rejected = [e for e in events if e.name == "claude_code.tool_decision"]
    assert [(e.kind, e.status) for e in rejected] == [(Kind.TOOL_END, "error"), (Kind.TURN_END, "ok")]
    assert rejected[0].key == "tool_end:toolu_4ad5f8c2a21d443baa62b12e"
    # /exit is a slash command, not a turn for the model.
    slash = [e for e in events if e.kind is Kind.OTHER]
    assert [(e.name, e.detail["command"]) for e in slash] == [("claude_code.user_prompt", "exit")]


def test_two_permission_requests_in_one_prompt_are_two_approvals():
    adapter = fresh_adapter("claude")
    path = scenario_dir("claude", "interactive-permission") / "hooks" / "0008_PermissionRequest.json"
    first = json.loads(path.read_text())
    second = {**first, "tool_input": {"command": "rm -f other.txt"}}
    keys = [adapter.normalise_hook(HookCall(p, 1))[0].key for p in (first, second)]
    assert keys[0] != keys[1]
    reminder = {**first, "hook_event_name": "Notification", "notification_type": "permission_prompt"}
    assert adapter.normalise_hook(HookCall(reminder, 2))[0].key == keys[1]


def test_idle_reminder_merges_with_the_stop():
    events = events_of(replay("claude", "interactive-idle"))
    ends = [e for e in events if e.kind is Kind.TURN_END]
    assert [e.name for e in ends] == ["Stop", "Notification"]
    assert ends[0].key == ends[1].key == "turn_end:f80dc82a-b460-4764-a47c-31bf07fbfa1d"


def test_prompt_merges_by_prompt_id_and_keeps_the_text():
    events = events_of(replay("claude", "ok-json"))
    prompts = [e for e in events if e.kind is Kind.PROMPT]
    assert [e.source for e in prompts] == [Source.HOOK, Source.OTLP_LOG]
    assert {e.key for e in prompts} == {"prompt:eda8a50d-2e6b-4e91-99b0-43061ed5528b"}
    assert {e.detail["prompt"] for e in prompts} == {"Run the shell command: echo hello"}
    start = events[0]
    assert start.detail["source"] == "startup" and start.detail["transcript_path"].endswith(".jsonl")
    assert events[-1].kind is Kind.SESSION_END and events[-1].detail == {"reason": "other"}


def test_metrics_never_carry_tokens_or_cost():
    metrics = [e for s in scenarios("claude") for e in events_of(replay("claude", s)) if e.kind is Kind.METRIC]
    assert metrics and all(not e.tokens and e.cost_usd == 0 for e in metrics)
    usage = [e for e in metrics if e.name == "claude_code.token.usage"]
    assert {e.detail["attrs"]["type"] for e in usage} == {"input", "output", "cacheRead", "cacheCreation"}
    assert all(e.detail["temporality"] == "delta" and "session.id" not in e.detail["attrs"] for e in metrics)


BAD_PAYLOADS = [
    {},
    {"hook_event_name": "Stop"},
    {"session_id": 42, "hook_event_name": "Stop"},
    {"session_id": "", "hook_event_name": "Stop"},
    {"session_id": ["s"], "hook_event_name": "Stop"},
    {"session_id": "s"},  # no event name anywhere
    {"session_id": "s", "hook_event_name": 7},
]


@pytest.mark.parametrize("payload", BAD_PAYLOADS)
def test_malformed_hook_envelope_returns_nothing(payload):
    assert fresh_adapter("claude").normalise_hook(HookCall(payload, 1)) == []


def test_payload_that_is_not_an_object_returns_nothing():
    assert fresh_adapter("claude").normalise_hook(HookCall([1, 2], 1, event_name="Stop")) == []  # type: ignore[arg-type]


WRONG_TYPES = [None, 0, 3.5, True, [], ["x"], {}, {"a": [1]}, "", "x" * 5000]


@pytest.mark.parametrize("scenario", ["subagent", "tool-failure", "interactive-permission", "api-error-529"])
def test_wrong_field_types_inside_a_hook_never_raise(scenario):
    for path in sorted((scenario_dir("claude", scenario) / "hooks").glob("*.json")):
        payload = json.loads(path.read_text())
        for field in payload:
            if field in ("session_id", "hook_event_name"):
                continue
            for value in WRONG_TYPES:
                events = fresh_adapter("claude").normalise_hook(HookCall({**payload, field: value}, 1))
                assert all(e.session_id == payload["session_id"] for e in events)


def test_event_name_from_the_url_when_the_payload_lacks_it():
    payload = {"session_id": "s", "reason": "exit"}
    (event,) = fresh_adapter("claude").normalise_hook(HookCall(payload, 5, event_name="SessionEnd"))
    assert (event.kind, event.name, event.ts) == (Kind.SESSION_END, "SessionEnd", 5)


def test_unknown_names_are_counted_not_dropped():
    adapter = fresh_adapter("claude")
    (hook,) = adapter.normalise_hook(HookCall({"session_id": "s", "hook_event_name": "BrandNewHook"}, 1))
    rec = LogRecord(resource={"service.name": "claude-code"}, scope="", body="claude_code.brand_new",
                    attrs={"session.id": "s", "event.name": "brand_new"}, time_ns=9, observed_ns=9)
    (log,) = adapter.normalise_log(rec)
    for event, name in ((hook, "BrandNewHook"), (log, "claude_code.brand_new")):
        assert (event.kind, event.status, event.name) == (Kind.OTHER, "unknown", name)


def test_records_without_session_id_yield_nothing():
    adapter = fresh_adapter("claude")
    rec = LogRecord(resource={}, scope="", body=None, attrs={"event.name": "api_request"}, time_ns=1, observed_ns=1)
    point = MetricPoint(resource={}, scope="", name="claude_code.cost.usage", unit="USD", attrs={}, value=1.0,
                        time_ns=1, start_ns=0, temporality="delta", kind="sum")
    assert adapter.normalise_log(rec) == [] and adapter.normalise_metric(point) == []


def test_registry():
    assert set(agents.ADAPTERS) == {"claude", "codex", "gemini"}
    assert agents.by_service_name("claude-code") is agents.get("claude")
    assert agents.by_service_name("codex_exec") is agents.by_service_name("codex_cli_rs") is agents.get("codex")
    assert agents.by_service_name("gemini-cli") is agents.get("gemini")
    assert agents.by_service_name("nope") is None and agents.get("nope") is None
    assert [a.otlp_creates_sessions for a in agents.ADAPTERS.values()] == [True, False, True]
