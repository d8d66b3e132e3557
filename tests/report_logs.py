"""Logs for the report tests: a real outage from examples/ with things planted in it.

The connection example is a real redis-server killed and restarted under a real redis-py
app and RQ worker (tests/test_e2e_outages.py). Planted beside it: an error no rule knows
(three times inside the outage, once long before), gunicorn and uvicorn access lines
with 5xx answers, a JSON access line, a secret in an unmatched error, and a line that
tries to break out of HTML and Markdown and to reverse the text around it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
CONNECTION = EXAMPLES / "outages" / "connection"

PLANTED = "FluxCapacitorError: the flux capacitor refused to sync with shard 7"
PLANTED_SIGNATURE = "FluxCapacitorError: the flux capacitor refused to sync with shard <int>"
SECRET = "hunter2-planted-secret"
HOSTILE = "<script>alert(1)</script> | `` ` break ``` \u202eevil\u202c </pre>"


def planted_outage(root: Path) -> Path:
    """A copy of the connection example with the planted lines; returns its directory."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("app.log", "worker.log", "redis-server.log"):
        shutil.copy(CONNECTION / name, root / name)
    lines = [
        # Once ten minutes before the outage (14:50:52 to :53, resolved :56 with a 3 s quiet
        # period), three times in it.
        f"2026-11-26 14:40:01,900 ERROR [morningai.billing] {PLANTED}",
        f"2026-11-26 14:50:52,200 ERROR [morningai.billing] {PLANTED}",
        f"2026-11-26 14:50:52,600 ERROR [morningai.billing] {PLANTED}",
        f"2026-11-26 14:50:53,100 ERROR [morningai.billing] {PLANTED}",
        "2026-11-26 14:50:52,300 ERROR [morningai.export] upload failed:"
        f" redis://:{SECRET}@cache.internal:6379/0 password={SECRET}",
        f"2026-11-26 14:50:52,400 ERROR [morningai.input] request failed: {HOSTILE}",
    ]
    lines.sort()  # in time order, in a file of their own: the example's files stay whole
    (root / "api.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    access = [
        '10.0.0.7 - - [26/Nov/2026:14:50:52 +0000] "GET /api/v1/feed HTTP/1.1" 500 1234 "-" "curl/8"',
        '10.0.0.7 - - [26/Nov/2026:14:50:52 +0000] "GET /api/v1/feed HTTP/1.1" 503 12 "-" "curl/8"',
        '10.0.0.7 - - [26/Nov/2026:14:50:53 +0000] "GET /api/v1/feed HTTP/1.1" 200 99 "-" "curl/8"',
        '10.0.0.7 - - [26/Nov/2026:14:50:53 +0000] "POST /api/v1/events HTTP/1.0" 502 0 "-" "curl/8"',
    ]
    (root / "gunicorn-access.log").write_text("\n".join(access) + "\n")
    uvicorn = [
        '2026-11-26 14:50:52,700 INFO:     127.0.0.1:51234 - "GET /api/v1/feed HTTP/1.1" 500 Internal Server Error',
        '2026-11-26 14:50:52,800 INFO:     127.0.0.1:51235 - "GET /healthz HTTP/1.1" 200 OK',
        '{"timestamp": "2026-11-26T14:50:52.900Z", "message": "10.0.0.9 - \\"GET /x HTTP/1.1\\" 504 0"}',
    ]
    (root / "uvicorn.log").write_text("\n".join(uvicorn) + "\n")
    return root
