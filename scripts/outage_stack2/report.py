"""After the run: which files show each outage, and the table in examples/README.md."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

#: The stamps the stack writes, each with its strptime format (all UTC: TZ=UTC).
_STAMPS = [
    (re.compile(r"^[A-Z]+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d{3} "), "%Y-%m-%d %H:%M:%S"),
    (re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d{3} "), "%Y-%m-%d %H:%M:%S"),
    (re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) [+-]\d{4}\]"), "%Y-%m-%d %H:%M:%S"),
    (re.compile(r'"timestamp": "(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)'), "%Y-%m-%dT%H:%M:%S"),
    (re.compile(r"^\d+:[XCSM] (\d\d \w{3} \d{4} \d\d:\d\d:\d\d)\.\d{3} "), "%d %b %Y %H:%M:%S"),
    (re.compile(r"^(\d\d:\d\d:\d\d) "), "%H:%M:%S"),
]
#: Errors can be written a little after the repair (a request that was waiting).
_LATE = timedelta(seconds=5)
_BEGIN = "<!-- outages-2: written by scripts/make_examples_2.py -->"
_END = "<!-- /outages-2 -->"


def read_text(path: Path) -> str:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
            return fh.read()
    return path.read_text(encoding="utf-8", errors="replace")


def _stamp(line: str, day: datetime) -> datetime | None:
    for pattern, fmt in _STAMPS:
        if m := pattern.search(line):
            t = datetime.strptime(m.group(1), fmt)
            if fmt == "%H:%M:%S":
                t = datetime.combine(day.date(), t.time())
            return t.replace(tzinfo=UTC)
    return None


def files_showing(logs: Path, wording: str, start: datetime, end: datetime) -> list[str]:
    """The files with a line in that wording between start and end (plus a little), by
    family name; in a file with no time at all, anywhere."""
    pattern = re.compile(wording)
    shown: set[str] = set()
    for path in sorted(logs.iterdir()):
        family = re.sub(r"(\.\d+)?(\.gz)?$", "", path.name)
        when: datetime | None = None
        dated = False
        for line in read_text(path).splitlines():
            stamp = _stamp(line, start)
            if stamp is not None:
                when, dated = stamp, True
            if pattern.search(line) and (
                not dated or (when is not None and start - _LATE <= when <= end + _LATE)
            ):
                shown.add(family)
                break
    return sorted(shown)


def write_readme_section(readme: Path, out: Path, expected: dict[str, Any]) -> None:
    """Replace (or append) the outages-2 table in examples/README.md."""
    rows = []
    for o in expected["outages"]:
        start = datetime.fromisoformat(o["start"])
        end = datetime.fromisoformat(o["end"])
        linked = f" (+ {', '.join(o['linked'])})" if o["linked"] else ""
        if o["may_link"]:
            linked += f" (+ {', '.join(o['may_link'])}?)"
        rows.append(
            f"| `{o['id']}` | {o['category']}{linked} | {start:%H:%M:%S} | "
            f"{(end - start).total_seconds():.1f} s | {o['what']} | "
            f"{', '.join(f'`{f}`' for f in o['files'])} |"
        )
    v = expected["versions"]
    section = f"""{_BEGIN}
Run on {datetime.fromisoformat(expected["outages"][0]["start"]):%Y-%m-%d} (UTC). Versions:
redis-server {v["redis-server"]}, redis-py {v["redis"]}, rq {v["rq"]}, Django {v["Django"]},
django-rq {v["django-rq"]}, gunicorn {v["gunicorn"]}, FastAPI {v["fastapi"]}, uvicorn
{v["uvicorn"]}, structlog {v["structlog"]}, supervisor {v["supervisor"]}, psycopg
{v["psycopg"]}, requests {v["requests"]}, logrotate {v["logrotate"]}, Python {v["python"]}.

| outage | category (+ linked, ? if it may be) | start | length | how | files that show it |
|---|---|---|---:|---|---|
{chr(10).join(rows)}
{_END}"""
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if _BEGIN in text and _END in text:
        head, rest = text.split(_BEGIN, 1)
        text = head + section + rest.split(_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    readme.write_text(text, encoding="utf-8")
