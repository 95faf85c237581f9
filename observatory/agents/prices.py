"""Cost estimates for agents that report tokens but no cost (Codex, Gemini).

Claude Code reports `cost_usd` on every API request; Codex and Gemini report only tokens, so
without an estimate their sessions would show $0 and never reach a budget alert. Prices are
list prices in USD per million tokens (input, cached input, output), looked up by the longest
model-name prefix, and can be replaced or extended in config.toml:

    [prices]
    "gpt-5-codex" = [1.25, 0.125, 10.0]

A model with no price leaves the cost unknown (`unpriced`), never a made-up zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from observatory.model import Tokens

REPORTED, ESTIMATED, UNPRICED = "reported", "estimated", "unpriced"
_CERTAINTY = {"": 0, REPORTED: 1, ESTIMATED: 2, UNPRICED: 3}


@dataclass(frozen=True, slots=True)
class Price:
    input: float
    cached_input: float
    output: float


# Vendors' published list prices (2025) of the models these CLIs use by default, per million
# tokens; prices change, so config.toml's [prices] replaces any of them.
DEFAULT_PRICES: dict[str, Price] = {
    "gpt-5-codex": Price(1.25, 0.125, 10.0),
    "gpt-5-mini": Price(0.25, 0.025, 2.0),
    "gpt-5-nano": Price(0.05, 0.005, 0.4),
    "gpt-5": Price(1.25, 0.125, 10.0),
    "gemini-2.5-pro": Price(1.25, 0.31, 10.0),
    "gemini-2.5-flash-lite": Price(0.10, 0.025, 0.40),
    "gemini-2.5-flash": Price(0.30, 0.075, 2.50),
}

_prices: dict[str, Price] = dict(DEFAULT_PRICES)


def configure(overrides: dict[str, list[float]]) -> None:
    """Apply config.toml's [prices] on top of the defaults (called once at start)."""
    table = dict(DEFAULT_PRICES)
    for model, values in overrides.items():
        if len(values) != 3 or not all(isinstance(v, (int, float)) and v >= 0 for v in values):
            raise ValueError(f"[prices] {model!r} must be [input, cached_input, output] in USD per million tokens")
        table[model] = Price(*map(float, values))
    _prices.clear()
    _prices.update(table)


def less_certain(a: str, b: str) -> str:
    """A total is only as certain as its least certain part."""
    return a if _CERTAINTY.get(a, 3) >= _CERTAINTY.get(b, 3) else b


def price_for(model: str | None) -> Price | None:
    """The price of the longest configured prefix of `model` (`gpt-5-codex-2026…` → `gpt-5-codex`)."""
    if not model:
        return None
    name = model.lower()
    best = max((m for m in _prices if name.startswith(m)), key=len, default=None)
    return _prices[best] if best is not None else None


def estimate(model: str | None, tokens: Tokens) -> tuple[float, str]:
    """(USD, cost basis) of one request: `estimated`, or `unpriced` with 0 when the model has no price.

    Reasoning (OpenAI) and thoughts (Gemini) are billed as output; cache writes are not billed
    apart by either vendor.
    """
    price = price_for(model)
    if price is None:
        return 0.0, UNPRICED
    return (tokens.input * price.input + tokens.cache_read * price.cached_input
            + (tokens.output + tokens.reasoning) * price.output) / 1e6, ESTIMATED
