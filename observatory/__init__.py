"""Agent Observatory: a local-first observatory for parallel AI coding agents."""

__version__ = "0.1.0"
