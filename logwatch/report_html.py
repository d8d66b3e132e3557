"""The night as one self-contained HTML page: inline CSS and SVG, no script, no network.

Sections: the timeline (report_svg), each incident (cause, target, span, lifecycle,
sources, signatures, samples, runbook, linked incidents, the probe's verdict), what the
rules missed, redis-server's own lifecycle, the impact, and the facts of the scan. Every
piece of log text is escaped and its control and bidi characters made visible; a strict
Content-Security-Policy forbids the page to load or run anything.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, tzinfo

from logwatch import __version__
from logwatch.night import MISSED, Lifecycle, Night, span_of
from logwatch.report import format_duration
from logwatch.report_svg import Axis, bucket_label, colour, render_timeline, restarts
from logwatch.report_svg import sparkline_svg as spark
from logwatch.report_text import esc
from logwatch.serverlog import KINDS, TROUBLE

MAX_SIGNATURES = 10  # per incident
MAX_MISSED_ROWS = 100

_CSS = """
:root{--fg:#1d2125;--muted:#5e6770;--bg:#fff;--card:#f6f7f9;--line:#d5d9de;--quiet:#9aa5b1;
--quiet-bg:rgba(154,165,177,.12);--bad:#c62828;--ok:#2e7d32;--accent:#1565c0}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--muted:#a4acb5;--bg:#15181b;
--card:#1f2428;--line:#3a4148;--quiet:#6b7580;--quiet-bg:rgba(107,117,128,.15);
--bad:#ef5350;--ok:#66bb6a;--accent:#64b5f6}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1180px;padding:12px 16px 48px;font:15px/1.45 system-ui,
-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.45rem;margin:.4em 0 .2em}h2{font-size:1.15rem;margin:1.6em 0 .5em;
border-bottom:1px solid var(--line);padding-bottom:.2em}h3{font-size:1rem;margin:0 0 .4em}
.sub{color:var(--muted);margin:0 0 .8em}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
svg.timeline{width:100%;min-width:680px;height:auto;display:block}
.timeline text{font-size:11px;fill:var(--fg)}
.timeline .tick-label{text-anchor:middle;fill:var(--muted)}
.timeline .scale{text-anchor:end;fill:var(--muted);font-size:10px}
.timeline .lane-label{font-weight:600}.timeline .lane-sub{fill:var(--muted);font-size:10px}
.timeline .band-no{text-anchor:middle;font-weight:700;font-size:11px}
.band{opacity:.16}.band.open{opacity:.24}.quiet{opacity:.9}
.reopen{fill:var(--bad);stroke:var(--bad);stroke-dasharray:3 3}
.baseline,.tick{stroke:var(--line)}.lane-bg{fill:var(--card)}
.lane-bar{fill:var(--accent)}.first{stroke:var(--bad);stroke-width:2}
.srv{fill:var(--ok);stroke:var(--ok)}.srv.trouble{fill:var(--bad);stroke:var(--bad)}
.srv-restart{fill:#ef6c00;stroke:#ef6c00}.srv .x{fill:none;stroke-width:2}
.srv-line{stroke-dasharray:2 3;opacity:.7}
.gap-mark{fill:#6d4c41}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;margin:.4em 0;font-size:.85rem;color:var(--muted)}
.legend i{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px;
border-radius:2px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--c);
border-radius:6px;padding:10px 12px;min-width:0}
.card dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:0}
.card dt{color:var(--muted)}.card dd{margin:0;min-width:0;overflow-wrap:anywhere}
pre,code{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:6px 8px;
white-space:pre-wrap;overflow-wrap:anywhere;margin:.4em 0;max-height:16em;overflow:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;white-space:nowrap}td.when{white-space:nowrap}
td code{overflow-wrap:anywhere}
.tag{display:inline-block;padding:0 6px;border-radius:9px;font-size:.78rem;
background:var(--line)}.tag.bad{background:var(--bad);color:#fff}
.spark{fill:var(--accent);vertical-align:middle}
details summary{cursor:pointer;color:var(--accent)}
@media (max-width:600px){body{padding:8px 10px 32px;font-size:14px}
.cards{grid-template-columns:1fr}th.opt,td.opt{display:none}}
"""


def _when(moment: datetime | None, tz: tzinfo) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")


def render_html(night: Night, *, tz: tzinfo, title: str = "What happened") -> str:
    """The whole page."""
    incidents = night.incidents
    span = f"{_when(night.start, tz)} → {_when(night.end, tz)}"
    n = len(incidents)
    summary = (
        f"{n} incident{'s' if n != 1 else ''}, "
        f"{sum(sum(c.values()) for k, c in night.errors.items() if k != MISSED):,} matched"
        f" error records, {night.missed_total:,} error-looking records no rule matched"
    )
    body = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';'
        " style-src 'unsafe-inline'; img-src data:\">",
        '<meta name="referrer" content="no-referrer">',
        f"<title>{esc(title)}: {esc(span)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f'<header><h1>{esc(title)}</h1><p class="sub">{esc(span)} · {esc(summary)}'
        + (" · errors estimated from incident updates" if night.estimated else "")
        + "</p></header>",
        '<section id="timeline"><h2>Timeline</h2>',
        _legend(night),
        f'<div class="scroll">{render_timeline(night, tz=tz)}</div>',
        f'<p class="sub">Bars: error records {esc(bucket_label(Axis.of(night).step))},'
        " stacked by category (grey: no rule matched). Shaded bands: incidents, numbered as"
        " below, from first error to resolved; hatched: the quiet period that resolved them;"
        " red triangles: reopened; lanes: errors per tier, red tick at each tier's first"
        " error; bottom row: what redis-server's own log says (orange: restarted; red:"
        " signals, shutdowns, failed saves, memory and client limits); brown triangles on"
        " top: unmatched errors clustering inside an outage (a likely rule gap).</p>",
        "</section>",
        _incidents(night, tz),
        _missed(night, tz),
        _server(night, tz),
        _impact(night),
        _facts(night, tz),
        f'<footer class="sub">logwatch {esc(__version__)}</footer>',
        "</body></html>",
    ]
    return "\n".join(body) + "\n"


def _legend(night: Night) -> str:
    items = [
        f'<span><i style="background:{colour(c)}"></i>{esc(c)} ({sum(counts.values()):,})</span>'
        for c, counts in sorted(night.errors.items(), key=lambda kv: -sum(kv[1].values()))
    ]
    return f'<div class="legend">{"".join(items)}</div>'


def _incidents(night: Night, tz: tzinfo) -> str:
    if not night.lifecycles:
        return '<section id="incidents"><h2>Incidents</h2><p>No incident.</p></section>'
    ids = {lc.incident.id: n for n, lc in enumerate(night.lifecycles, 1)}
    cards = [_card(n, lc, night, tz, ids) for n, lc in enumerate(night.lifecycles, 1)]
    return (
        f'<section id="incidents"><h2>Incidents ({len(cards)})</h2>'
        f'<div class="cards">{"".join(cards)}</div></section>'
    )


def _card(n: int, lc: Lifecycle, night: Night, tz: tzinfo, ids: dict[str, int]) -> str:
    inc = lc.incident
    a, b = span_of(lc, night.end)
    cause = inc.hint.strip().splitlines()[0] if inc.hint.strip() else inc.category
    status = (
        '<span class="tag bad">open at end of logs</span>'
        if inc.status == "open"
        else '<span class="tag">resolved</span>'
    )
    life = [f"opened {_when(lc.opened[0], tz)}"]
    life += [f"reopened {_when(t, tz)}" for t in lc.reopens]
    life += [f"resolved {_when(t, tz)}" for t in lc.resolved]
    linked = ", ".join(
        f'<a href="#{esc(i)}">#{ids[i]} {esc(i)}</a>' if i in ids else esc(i) for i in inc.linked
    )
    rows = [
        ("cause", esc(cause)),
        ("target", f"<code>{esc(inc.target)}</code>"),
        ("when", f"{esc(_when(a, tz))} → {esc(_when(b, tz))}"),
        ("duration", esc(format_duration(inc.duration_s))),
        ("events", f"{inc.events:,} {spark(night.errors.get(inc.category, Counter()), a, b)}"),
        ("lifecycle", "<br>".join(esc(x) for x in life)),
        ("sources", "<br>".join(f"{esc(s)} ({c:,})" for s, c in inc.sources.items())),
        ("rules", ", ".join(f"{esc(r)} ({c:,})" for r, c in inc.rules.items())),
    ]
    if linked:
        rows.append(("linked", linked))
    if inc.diagnosis:
        rows.append(("probe", esc(inc.diagnosis)))
    if inc.reopened:
        rows.append(("reopened", f"{inc.reopened}x"))
    notes = night.notified.get(inc.id, ())
    if notes:
        rows.append(
            ("notified", "<br>".join(f"{esc(_when(t, tz))} {esc(text)}" for t, text in notes))
        )
    sigs = list(inc.signatures.items())[:MAX_SIGNATURES]
    more = len(inc.signatures) - len(sigs)
    sig_rows = "".join(
        f'<tr><td class="n">{c:,}</td><td><code>{esc(s)}</code></td></tr>' for s, c in sigs
    )
    samples = "".join(f"<pre>{esc(s, keep_newlines=True)}</pre>" for s in inc.samples[:3])
    hint = (
        "<details><summary>runbook</summary>"
        f"<pre>{esc(inc.hint.strip(), keep_newlines=True)}</pre></details>"
        if inc.hint.strip()
        else ""
    )
    return (
        f'<article class="card incident-card" id="{esc(inc.id)}" data-incident="{esc(inc.id)}"'
        f' style="--c:{colour(inc.category)}">'
        f"<h3>#{n} {esc(inc.severity.label.upper())} {esc(inc.category)} {status}"
        f" <small><code>{esc(inc.id)}</code></small></h3><dl>"
        + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
        + "</dl>"
        + f"<details><summary>signatures ({len(inc.signatures)})</summary><table>{sig_rows}"
        + (f"<tr><td></td><td>… {more} more</td></tr>" if more > 0 else "")
        + "</table></details>"
        + (f"<details open><summary>samples</summary>{samples}</details>" if samples else "")
        + hint
        + "</article>"
    )


def _missed(night: Night, tz: tzinfo) -> str:
    head = (
        '<section id="missed"><h2>What the rules missed</h2>'
        f'<p class="sub">{night.missed_total:,} error-looking records that no rule matched,'
        f" in {len(night.missed):,} signatures. A signature that clusters inside an outage"
        " is marked: a rule may be missing for it (try <code>logwatch test FILE</code>).</p>"
    )
    if not night.missed:
        return head + "<p>None.</p></section>"
    rows = []
    for g in night.missed[:MAX_MISSED_ROWS]:
        gap = ' <span class="tag bad">likely rule gap</span>' if g.gap else ""
        sources = ", ".join(f"{esc(s)} ({c:,})" for s, c in g.sources.most_common(3))
        rows.append(
            f'<tr class="missed-row{" gap" if g.gap else ""}"><td class="n">{g.count:,}</td>'
            f'<td><code class="signature">{esc(g.signature)}</code>{gap}'
            f'<pre class="sample">{esc(g.sample)}</pre></td>'
            f'<td class="opt when">{esc(_when(g.first, tz))}<br>{esc(_when(g.last, tz))}</td>'
            f'<td class="n opt">{g.inside:,}</td><td class="opt">{sources}</td></tr>'
        )
    more = len(night.missed) - len(rows)
    return (
        head + '<div class="scroll"><table id="missed-table"><thead><tr><th class="n">records</th>'
        '<th>signature and sample</th><th class="opt">first / last</th>'
        '<th class="n opt">in an outage</th><th class="opt">sources</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table></div>"
        + (f"<p>… {more:,} more signatures.</p>" if more > 0 else "")
        + "</section>"
    )


def _server(night: Night, tz: tzinfo) -> str:
    head = '<section id="server"><h2>redis-server\'s own log</h2>'
    if not night.server:
        return head + '<p class="sub">No redis-server log among the files.</p></section>'
    again = restarts(night.server)
    counts: Counter[str] = Counter()
    rows = []
    shown = 0
    for i, e in enumerate(night.server):
        kind = "restart" if i in again else e.kind
        counts[kind] += 1
        if counts[kind] > 20 and kind not in ("start", "restart", "signal", "shutdown"):
            continue  # a failing BGSAVE every minute: the first 20, then the count
        shown += 1
        meaning = "restarted" if kind == "restart" else KINDS.get(kind, kind)
        cls = ' class="trouble"' if kind in TROUBLE else ""
        rows.append(
            f"<tr{cls}><td>{esc(_when(e.time, tz))}</td><td>{esc(meaning)}</td>"
            f'<td><code>{esc(e.text)}</code></td><td class="opt">{esc(e.source)}</td></tr>'
        )
    summary = ", ".join(
        f"{('restarted' if k == 'restart' else KINDS.get(k, k))}: {c:,}" for k, c in counts.items()
    )
    return (
        head
        + f'<p class="sub">{esc(summary)}</p><div class="scroll"><table><thead><tr><th>time</th>'
        '<th>what</th><th>message</th><th class="opt">file</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table></div></section>"
    )


def _impact(night: Night) -> str:
    rows = []
    for tier in sorted(set(night.tiers) | set(night.tier_files)):
        errors = sum(night.tiers.get(tier, Counter()).values())
        status = night.http5xx.get(tier, Counter())
        codes = ", ".join(f"{c}: {n:,}" for c, n in sorted(status.items())) or "—"
        rows.append(
            f'<tr><td>{esc(tier)}</td><td class="n">{errors:,}</td><td>{esc(codes)}</td>'
            f'<td class="opt">{esc(", ".join(night.tier_files.get(tier, ())))}</td></tr>'
        )
    return (
        '<section id="impact"><h2>Impact</h2><div class="scroll"><table><thead><tr>'
        '<th>tier</th><th class="n">error records</th><th>HTTP 5xx (access logs)</th>'
        '<th class="opt">files</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table></div></section>"
    )


def _facts(night: Night, tz: tzinfo) -> str:
    f = night.facts
    items = [
        ("from", "the agent's state store" if f.origin == "agent" else f"a scan ({f.path} path)"),
        ("time range", f"{_when(night.start, tz)} → {_when(night.end, tz)}"),
    ]
    if f.origin == "scan":
        items += [
            ("files", f"{f.files:,}"),
            ("bytes", f"{f.bytes:,} ({f.bytes / 1e6:,.1f} MB)"),
            ("lines", f"{f.lines:,}"),
            ("records read", f"{f.records:,}"),
            ("matched events", f"{f.events:,}"),
            ("isolated", f"{f.isolated:,} matched errors below every opening threshold"),
            ("scan time", f"{f.seconds:.1f} s"),
        ]
    items.append(("quiet period", format_duration(f.quiet_period_s)))
    rows = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items)
    dating = "".join(
        f"<tr><td><code>{esc(name)}</code></td><td>{esc(how)}</td></tr>"
        for name, how in f.dating.items()
    )
    warnings = "".join(f"<li>{esc(w)}</li>" for w in f.warnings)
    undated = "".join(
        f'<tr><td>{esc(u.category)}</td><td class="n">{u.events:,}</td>'
        f"<td><code>{esc(u.sample)}</code></td><td>{esc(', '.join(u.incidents)) or '—'}</td></tr>"
        for u in f.undated
    )
    return (
        '<section id="facts"><h2>Facts</h2><div class="card" style="--c:var(--line)">'
        f"<dl>{rows}</dl></div>"
        + (
            '<h3 style="margin-top:1em">How each file was dated</h3><div class="scroll">'
            f"<table>{dating}</table></div>"
            if dating
            else ""
        )
        + (f"<h3>Warnings</h3><ul>{warnings}</ul>" if warnings else "")
        + (
            '<h3>Undated evidence</h3><p class="sub">Matches in files with no timestamps:'
            ' never part of an incident.</p><div class="scroll"><table><tr><th>category</th>'
            f'<th class="n">matches</th><th>sample</th><th>same signature as</th></tr>{undated}'
            "</table></div>"
            if undated
            else ""
        )
        + "</section>"
    )
