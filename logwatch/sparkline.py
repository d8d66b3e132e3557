"""One-line sparklines of errors over time, for the terminal's table of incidents."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime

from logwatch.night import Night, span_of

BARS = "▁▂▃▄▅▆▇█"
WIDTH = 24


def sparkline(counts: Mapping[int, int], a: datetime, b: datetime, *, width: int = WIDTH) -> str:
    """Per-second counts between two times as `width` block characters (a space: none)."""
    lo, hi = int(a.timestamp()), int(b.timestamp()) + 1
    cells = max(1, min(width, hi - lo))
    bins: Counter[int] = Counter()
    for second, n in counts.items():
        if lo <= second < hi:
            bins[(second - lo) * cells // (hi - lo)] += n
    peak = max(bins.values(), default=0)
    if not peak:
        return " " * cells
    return "".join(
        BARS[min(len(BARS) - 1, (bins[k] * len(BARS) - 1) // peak)] if bins[k] else " "
        for k in range(cells)
    )


def incident_sparks(night: Night) -> dict[str, str]:
    """Each incident's errors of its category over its span, by incident id."""
    found = {}
    for lc in night.lifecycles:
        a, b = span_of(lc, night.end)
        found[lc.incident.id] = sparkline(night.errors.get(lc.incident.category, {}), a, b)
    return found
