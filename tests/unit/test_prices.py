"""Cost estimates for the agents that report tokens but no cost, on their real captured payloads."""

from __future__ import annotations

import pytest
from fixtures_util import events_of, fresh_adapter, replay

from observatory.agents import prices
from observatory.agents.base import LogRecord
from observatory.config import load
from observatory.model import Kind
from observatory.sessions import Sessions


@pytest.fixture(autouse=True)
def default_prices():
    prices.configure({})
    yield
    prices.configure({})


def stored(events):
    """Events as the store hands them to Sessions: numbered in arrival order."""
    for seq, ev in enumerate(events, 1):
        yield ev.stamp(seq, ev.ts, None)


def session_of(agent: str, scenario: str, session_id: str):
    sessions = Sessions()
    for ev in stored(events_of(replay(agent, scenario))):
        sessions.apply(ev)
    return sessions.get(session_id)


def test_codex_requests_are_priced_from_the_list_price_of_their_model():
    api = [e for e in events_of(replay("codex", "ok-json")) if e.kind is Kind.API_REQUEST]
    assert {e.model for e in api} == {"gpt-5-codex"} and all(e.detail["cost_basis"] == "estimated" for e in api)
    # 2,500 uncached input tokens at $1.25/M and 52 output tokens at $10/M
    assert sum(e.cost_usd for e in api) == pytest.approx((2500 * 1.25 + 52 * 10.0) / 1e6)
    session = session_of("codex", "ok-json", "01a20797-c375-7372-aa84-bbfa17c33639")
    assert session.cost_basis == "estimated" and session.cost_usd == pytest.approx(0.003645)


def test_an_unknown_model_stays_unpriced_until_the_config_names_its_price():
    session_id = "9edd76e7-4127-4ded-aae0-bc29730c7c8a"
    api = [e for e in events_of(replay("gemini", "ok-http-json")) if e.kind is Kind.API_REQUEST]
    assert {e.model for e in api} == {"gemini-3.8-flash", "gemini-3.5-flash-lite"}
    assert all(e.cost_usd == 0 and e.detail["cost_basis"] == "unpriced" for e in api)
    assert session_of("gemini", "ok-http-json", session_id).cost_basis == "unpriced"

    prices.configure({"gemini-3": [0.5, 0.05, 3.0]})  # a prefix covers both models
    api = [e for e in events_of(replay("gemini", "ok-http-json")) if e.kind is Kind.API_REQUEST]
    # Gemini bills thoughts as output, on top of the output count.
    expected = sum(e.tokens.input * 0.5 + e.tokens.cache_read * 0.05 + (e.tokens.output + e.tokens.reasoning) * 3.0
                   for e in api) / 1e6
    assert sum(e.cost_usd for e in api) == pytest.approx(expected) and expected > 0
    assert session_of("gemini", "ok-http-json", session_id).cost_basis == "estimated"


def test_codex_reasoning_is_billed_once_as_output():
    attrs = {"event.name": "codex.sse_event", "event.kind": "response.completed", "conversation.id": "c",
             "model": "gpt-5-codex", "input_token_count": "1000", "cached_token_count": "800",
             "output_token_count": "50", "reasoning_token_count": "30"}
    rec = LogRecord(resource={}, scope="codex_otel.log_only", attrs=attrs, body=None, time_ns=0, observed_ns=7)
    (event,) = fresh_adapter("codex").normalise_log(rec)
    assert event.cost_usd == pytest.approx((200 * 1.25 + 800 * 0.125 + 50 * 10.0) / 1e6)


def test_gemini_thoughts_are_billed_as_output():
    attrs = {"event.name": "gemini_cli.api_response", "session.id": "s", "model": "gemini-2.5-pro",
             "input_token_count": 1000, "cached_content_token_count": 600, "output_token_count": 10,
             "thoughts_token_count": 90, "status_code": 200}
    rec = LogRecord(resource={}, scope="gemini-cli", attrs=attrs, body=None, time_ns=5, observed_ns=5)
    (event,) = fresh_adapter("gemini").normalise_log(rec)
    assert event.cost_usd == pytest.approx((400 * 1.25 + 600 * 0.31 + 100 * 10.0) / 1e6)


def test_claude_reports_its_own_cost_and_a_total_is_as_certain_as_its_least_certain_part():
    session = session_of("claude", "ok-json", "79810d94-a959-4246-ac3a-1ac937812cea")
    assert session.cost_basis == "reported" and session.cost_usd > 0
    assert prices.less_certain("", "reported") == "reported"
    assert prices.less_certain("reported", "estimated") == "estimated"
    assert prices.less_certain("unpriced", "estimated") == "unpriced"


def test_the_longest_prefix_wins_and_case_does_not_matter():
    assert prices.price_for("gpt-5-codex-2026-01") == prices.DEFAULT_PRICES["gpt-5-codex"]
    assert prices.price_for("GPT-5-mini") == prices.DEFAULT_PRICES["gpt-5-mini"]
    assert prices.price_for("gemini-2.5-flash-lite-preview") == prices.DEFAULT_PRICES["gemini-2.5-flash-lite"]
    assert prices.price_for("o3") is None and prices.price_for(None) is None


def test_prices_come_from_config_toml_and_bad_ones_are_refused(tmp_path):
    (tmp_path / "config.toml").write_text('[prices]\n"gpt-5-codex" = [2, 0.2, 20]\n')
    settings = load(flags={"data_dir": str(tmp_path)}, env={})
    prices.configure(settings.prices)
    assert prices.price_for("gpt-5-codex") == prices.Price(2.0, 0.2, 20.0)
    assert prices.price_for("gpt-5") == prices.DEFAULT_PRICES["gpt-5"]  # the others stay
    with pytest.raises(ValueError, match=r"\[prices\] 'x' must be \[input, cached_input, output\]"):
        prices.configure({"x": [1, 2]})
