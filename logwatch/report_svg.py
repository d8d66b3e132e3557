"""The night's timeline as inline SVG: errors per bucket stacked by category, incident
bands with their quiet periods and reopenings, one lane per tier, redis-server's own
lifecycle, and where unmatched errors cluster inside an outage. Pure text rendering.

One x axis for everything, so a restart marker and an incident band can be compared by
eye (and by a test, by their x coordinates). Bars are one <path> per category: a day at
one bucket a minute stays a few tens of KB.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from logwatch.night import MISSED, TIERS, Night, quiet_span, span_of
from logwatch.report_text import esc
from logwatch.serverlog import KINDS, TROUBLE, ServerEvent

MAX_BUCKETS = 1440  # a day at one a minute
_STEPS: tuple[int, ...] = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
_STEPS += (10800, 21600, 43200, 86400, 7 * 86400)

WIDTH = 1000
LEFT = 104  # lane labels
RIGHT = 12
PLOT = WIDTH - LEFT - RIGHT
TOP = 22  # the row of rule-gap markers and band numbers
CHART = 150
LANE = 24
SERVER = 34
AXIS = 26

# Known categories get fixed colours (colour-blind-safe where it matters); others cycle.
COLOURS = {
    "connection": "#d62728",
    "timeout": "#ff7f0e",
    "auth": "#9467bd",
    "oom": "#8c564b",
    "readonly": "#e377c2",
    "misconf": "#bcbd22",
    "loading": "#17becf",
    "max_clients": "#1f77b4",
    MISSED: "#7f7f7f",
}
_CYCLE = ("#2ca02c", "#aec7e8", "#ffbb78", "#98df8a", "#c5b0d5", "#c49c94", "#f7b6d2")


def colour(category: str) -> str:
    """The colour of a category, stable across reports."""
    if category in COLOURS:
        return COLOURS[category]
    return _CYCLE[sum(category.encode()) % len(_CYCLE)]


def bucket_seconds(span_s: float) -> int:
    """The smallest round bucket that keeps the span within MAX_BUCKETS."""
    for step in _STEPS:
        if span_s / step <= MAX_BUCKETS:
            return step
    return _STEPS[-1]


def bucket_label(step: int) -> str:
    """`per second`, `per 5 seconds`, `per minute`, `per 2 hours`..."""
    for unit, name in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        if step % unit == 0:
            n = step // unit
            return f"per {name}" if n == 1 else f"per {n} {name}s"
    return f"per {step} seconds"


@dataclass(frozen=True, slots=True)
class Axis:
    """Log time -> x, over the night's span, in buckets of `step` seconds."""

    t0: int  # epoch second of the first bucket's start
    step: int
    buckets: int

    @classmethod
    def of(cls, night: Night) -> Axis:
        """The axis of a night: its span in whole buckets."""
        a, b = int(night.start.timestamp()), int(night.end.timestamp()) + 1
        step = bucket_seconds(b - a)
        t0 = a - a % step
        return cls(t0=t0, step=step, buckets=max(1, -(-(b - t0) // step)))

    def x(self, when: datetime | int) -> float:
        """The x of a time (clipped to the plot)."""
        t = when if isinstance(when, int) else when.timestamp()
        frac = (t - self.t0) / (self.step * self.buckets)
        return LEFT + PLOT * min(1.0, max(0.0, frac))

    @property
    def width(self) -> float:
        """The width of one bucket."""
        return PLOT / self.buckets

    def bucket(self, second: int) -> int:
        """The bucket of an epoch second."""
        return (second - self.t0) // self.step

    def binned(self, counts: Mapping[int, int]) -> Counter[int]:
        """Per-second counts summed per bucket."""
        found: Counter[int] = Counter()
        for second, n in counts.items():
            b = self.bucket(second)
            if 0 <= b < self.buckets:
                found[b] += n
        return found


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _when(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def render_timeline(night: Night, *, tz: tzinfo) -> str:
    """The timeline SVG: chart, incident bands, tier lanes, redis-server row, time axis."""
    axis = Axis.of(night)
    tiers = [t for t in TIERS if t in night.tiers or t in night.tier_files]
    lanes_top = TOP + CHART + 8
    server_top = lanes_top + LANE * len(tiers) + 4
    axis_top = server_top + SERVER
    height = axis_top + AXIS
    out = [
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {height}" role="img"'
        f' aria-label="errors per bucket, incidents and redis-server events over time"'
        f' xmlns="http://www.w3.org/2000/svg">',
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse"'
        ' patternTransform="rotate(45)"><rect width="6" height="6" fill="var(--quiet-bg)"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="var(--quiet)" stroke-width="2"/>'
        "</pattern></defs>",
    ]
    out += _bands(night, axis, tz, top=TOP, bottom=axis_top)
    out += _bars(night, axis, top=TOP, height=CHART)
    out += _lanes(night, axis, tiers, top=lanes_top, tz=tz)
    out += _server(night.server, axis, top=server_top, bottom=axis_top, tz=tz)
    out += _gaps(night, axis, tz)
    out += _axis(axis, top=axis_top, tz=tz)
    out.append("</svg>")
    return "\n".join(out)


def _bands(night: Night, axis: Axis, tz: tzinfo, *, top: int, bottom: int) -> list[str]:
    out = []
    quiet = night.facts.quiet_period_s
    for n, lc in enumerate(night.lifecycles, 1):
        inc = lc.incident
        a, b = span_of(lc, night.end)
        x0, x1 = axis.x(a), axis.x(b)
        w = max(x1 - x0, 2.0)
        state = "open" if inc.status == "open" else "resolved"
        tip = (
            f"#{n} {inc.category} on {inc.target} ({inc.id}): {_when(a, tz)} to {_when(b, tz)},"
            f" {inc.events:,} events, {state}"
        )
        out.append(
            f'<g class="incident" data-incident="{esc(inc.id)}"><title>{esc(tip)}</title>'
            f'<rect class="band {state}" data-incident="{esc(inc.id)}"'
            f' data-category="{esc(inc.category)}" x="{_n(x0)}" y="{top}" width="{_n(w)}"'
            f' height="{bottom - top}" fill="{colour(inc.category)}"/>'
        )
        for resolved in lc.resolved:
            q0, q1 = quiet_span(resolved, quiet)
            qx = max(axis.x(q0), x0)
            out.append(
                f'<rect class="quiet" x="{_n(qx)}" y="{top}" width="{_n(max(axis.x(q1) - qx, 1))}"'
                f' height="{bottom - top}" fill="url(#hatch)"><title>quiet period ending'
                f" {esc(_when(resolved, tz))}: resolved</title></rect>"
            )
        for reopen in lc.reopens:
            rx = axis.x(reopen)
            out.append(
                f'<path class="reopen" d="M{_n(rx - 5)} {top - 8}h10l-5 8z'
                f'M{_n(rx)} {top}V{bottom}"><title>reopened {esc(_when(reopen, tz))}</title></path>'
            )
        out.append(f'<text class="band-no" x="{_n(x0 + w / 2)}" y="{top - 10}">{n}</text></g>')
    return out


def _stack_order(errors: Mapping[str, Counter[int]]) -> list[str]:
    named = sorted((c for c in errors if c != MISSED), key=lambda c: (-sum(errors[c].values()), c))
    return [*named, *([MISSED] if MISSED in errors else [])]


def _bars(night: Night, axis: Axis, *, top: int, height: int) -> list[str]:
    order = _stack_order(night.errors)
    binned = {c: axis.binned(night.errors[c]) for c in order}
    totals: Counter[int] = Counter()
    for counts in binned.values():
        totals.update(counts)
    peak = max(totals.values(), default=0)
    base = top + height
    out = [f'<line class="baseline" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}"/>']
    if not peak:
        return out
    scale = (height - 4) / peak
    stacked: Counter[int] = Counter()
    w = max(axis.width, 0.6)
    for category in order:
        parts = []
        for b, count in sorted(binned[category].items()):
            h = count * scale
            y = base - stacked[b] * scale - h
            stacked[b] += count
            parts.append(f"M{_n(LEFT + b * axis.width)} {_n(y)}h{_n(w)}v{_n(h)}h-{_n(w)}z")
        total = sum(binned[category].values())
        out.append(
            f'<path class="bar" data-category="{esc(category)}" fill="{colour(category)}"'
            f' d="{"".join(parts)}"><title>{esc(category)}: {total:,} error records</title></path>'
        )
    out.append(
        f'<text class="scale" x="{LEFT - 6}" y="{top + 8}">{peak:,}</text>'
        f'<text class="scale" x="{LEFT - 6}" y="{base}">0</text>'
        f'<text class="lane-label" x="4" y="{top + height / 2}">errors</text>'
        f'<text class="lane-sub" x="4" y="{top + height / 2 + 12}">{bucket_label(axis.step)}</text>'
    )
    return out


def _lanes(night: Night, axis: Axis, tiers: Sequence[str], *, top: int, tz: tzinfo) -> list[str]:
    out = []
    for k, tier in enumerate(tiers):
        y = top + k * LANE
        counts = axis.binned(night.tiers.get(tier, Counter()))
        files = ", ".join(night.tier_files.get(tier, ()))
        out.append(
            f'<g class="lane" data-tier="{esc(tier)}"><title>{esc(tier)}: {esc(files)}</title>'
            f'<rect class="lane-bg" x="{LEFT}" y="{y}" width="{PLOT}" height="{LANE - 4}"/>'
            f'<text class="lane-label" x="4" y="{y + 14}">{esc(tier)}</text>'
        )
        peak = max(counts.values(), default=0)
        if peak:
            w = max(axis.width, 0.6)
            parts = []
            for b, count in sorted(counts.items()):
                h = max(1.5, (LANE - 6) * count / peak)
                parts.append(
                    f"M{_n(LEFT + b * axis.width)} {_n(y + LANE - 4 - h)}h{_n(w)}v{_n(h)}h-{_n(w)}z"
                )
            out.append(f'<path class="lane-bar" d="{"".join(parts)}"/>')
            first = min(night.tiers[tier])
            fx = axis.x(first)
            when = _when(datetime.fromtimestamp(first, UTC), tz)
            out.append(
                f'<path class="first" d="M{_n(fx)} {y}v{LANE - 4}"><title>first error in'
                f" {esc(tier)}: {esc(when)}</title></path>"
            )
        out.append("</g>")
    return out


_SHAPES = {
    "start": "circle",
    "restart": "circle",
    "ready": "tick",
    "signal": "square",
    "shutdown": "square",
    "replica": "diamond",
    "master": "diamond",
    "save-failed": "cross",
    "oom": "triangle",
    "maxclients": "triangle",
    "loading": "bar",
}


def restarts(events: Iterable[ServerEvent]) -> set[int]:
    """Indexes of the "start" events that follow an earlier start of the same file."""
    seen: set[str] = set()
    found = set()
    for i, e in enumerate(events):
        if e.kind == "start":
            if e.source in seen:
                found.add(i)
            seen.add(e.source)
    return found


def _server(
    events: list[ServerEvent], axis: Axis, *, top: int, bottom: int, tz: tzinfo
) -> list[str]:
    out = [
        f'<g class="server-row"><rect class="lane-bg" x="{LEFT}" y="{top}" width="{PLOT}"'
        f' height="{SERVER - 6}"/><text class="lane-label" x="4" y="{top + 13}">server log</text>'
        f'<text class="lane-sub" x="4" y="{top + 25}">redis-server</text></g>'
    ]
    again = restarts(events)
    # One marker per kind per bucket: a failing BGSAVE every minute is a row of marks, not
    # a thousand overlapping ones.
    groups: dict[tuple[str, int], list[ServerEvent]] = {}
    for i, e in enumerate(events):
        kind = "restart" if i in again else e.kind
        groups.setdefault((kind, axis.bucket(int(e.time.timestamp()))), []).append(e)
    y = top + (SERVER - 6) / 2
    for (kind, _), group in sorted(groups.items(), key=lambda g: g[1][0].time):
        first = group[0]
        x = axis.x(first.time)
        meaning = "restarted" if kind == "restart" else KINDS.get(kind, kind)
        more = f" (+{len(group) - 1} more in this bucket)" if len(group) > 1 else ""
        tip = f"{_when(first.time, tz)} {meaning}: {first.text}{more}"
        trouble = " trouble" if kind in TROUBLE else ""
        out.append(
            f'<g class="srv srv-{kind}{trouble}" data-time="{first.time.isoformat()}"'
            f' data-x="{_n(x)}"><title>{esc(tip)}</title>'
            + _shape(_SHAPES.get(kind, "circle"), x, y)
        )
        if kind in ("restart", "signal", "shutdown"):
            out.append(f'<line class="srv-line" x1="{_n(x)}" x2="{_n(x)}" y1="{TOP}" y2="{top}"/>')
        out.append("</g>")
    return out


def _shape(shape: str, x: float, y: float) -> str:
    if shape == "square":
        return f'<rect x="{_n(x - 4)}" y="{_n(y - 4)}" width="8" height="8"/>'
    if shape == "diamond":
        return f'<path d="M{_n(x)} {_n(y - 6)}l6 6l-6 6l-6-6z"/>'
    if shape == "triangle":
        return f'<path d="M{_n(x)} {_n(y - 6)}l6 11h-12z"/>'
    if shape == "cross":
        return f'<path class="x" d="M{_n(x - 4)} {_n(y - 4)}l8 8m0-8l-8 8"/>'
    if shape == "tick":
        return f'<path class="x" d="M{_n(x - 4)} {_n(y)}l3 4l5-9"/>'
    if shape == "bar":
        return f'<rect x="{_n(x - 1.5)}" y="{_n(y - 7)}" width="3" height="14"/>'
    return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="5"/>'


def _gaps(night: Night, axis: Axis, tz: tzinfo) -> list[str]:
    out = []
    for group in night.missed:
        if not group.gap or group.peak is None:
            continue
        x = axis.x(group.peak)
        tip = (
            f"likely rule gap: {group.inside:,} of {group.count:,} unmatched"
            f" '{group.signature}' inside an outage, most at {_when(group.peak, tz)}"
        )
        out.append(
            f'<g class="gap-mark"><title>{esc(tip)}</title><path d="M{_n(x - 5)} 2h10l-5 9z"/></g>'
        )
    return out


def _axis(axis: Axis, *, top: int, tz: tzinfo) -> list[str]:
    span = axis.step * axis.buckets
    tick = next((s for s in _STEPS if span / s <= 8), _STEPS[-1])
    out = [f'<line class="baseline" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{top}" y2="{top}"/>']
    first = axis.t0 - axis.t0 % tick + (tick if axis.t0 % tick else 0)
    fmt = "%H:%M:%S" if tick < 60 else "%H:%M"
    last_day = None
    for t in range(first, axis.t0 + span + 1, tick):
        x = axis.x(t)
        local = datetime.fromtimestamp(t, UTC).astimezone(tz)
        label = local.strftime(fmt)
        if local.date() != last_day and (tick >= 3600 or last_day is None):
            label = local.strftime("%b %d ") + label
            last_day = local.date()
        out.append(
            f'<line class="tick" x1="{_n(x)}" x2="{_n(x)}" y1="{top}" y2="{top + 4}"/>'
            f'<text class="tick-label" x="{_n(x)}" y="{top + 16}">{esc(label)}</text>'
        )
    return out


def sparkline_svg(counts: Mapping[int, int], a: datetime, b: datetime, *, width: int = 160) -> str:
    """A small inline bar chart of per-second counts between two times."""
    lo, hi = int(a.timestamp()), int(b.timestamp()) + 1
    step = max(1, -(-(hi - lo) // 40))
    bins: Counter[int] = Counter()
    for second, n in counts.items():
        if lo <= second < hi:
            bins[(second - lo) // step] += n
    peak = max(bins.values(), default=0)
    n_bins = max(1, -(-(hi - lo) // step))
    w = width / n_bins
    bar = _n(max(w - 0.5, 0.5))
    parts = [
        f"M{_n(k * w)} {_n(20 - 18 * v / peak)}h{bar}V20h-{bar}z" for k, v in sorted(bins.items())
    ]
    return (
        f'<svg class="spark" viewBox="0 0 {width} 20" width="{width}" height="20"'
        f' xmlns="http://www.w3.org/2000/svg"><path d="{"".join(parts)}"/></svg>'
    )
