"""Everything that touches SQL lives in this package (see DESIGN.md, "only store writes SQL")."""

from observatory.store.db import Saturated, Store

__all__ = ["Saturated", "Store"]
