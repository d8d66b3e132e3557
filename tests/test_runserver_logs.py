"""Django's `manage.py runserver` and Flask's werkzeug server: their only stamps are the
access lines' `[26/Nov/2026 14:50:01]`; an error's traceback comes between two of them.
Both files were entirely undated: their Redis errors opened no incident."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from logwatch.cli import main

BANNER = (
    "Watching for file changes with StatReloader\n"
    "Performing system checks...\n\n"
    "System check identified no issues (0 silenced).\n"
    "November 26, 2026 - 14:49:00\n"
    "Django version 5.1, using settings 'app.settings'\n"
    "Starting development server at http://127.0.0.1:8000/\n"
    "Quit the server with CONTROL-C.\n\n"
)
ERROR = (
    "Internal Server Error: /api/enqueue/\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/venv/lib/python3.11/site-packages/django/core/handlers/exception.py",'
    " line 55, in inner\n"
    "    response = get_response(request)\n"
    '  File "/srv/app/views.py", line 12, in enqueue\n'
    "    q.enqueue(job)\n"
    "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused.\n"
)


def server_log(access: str) -> str:
    out = BANNER
    for s in range(1, 20, 2):
        stamp = f"[26/Nov/2026 14:50:{s:02d}]"
        out += access.format(stamp=stamp, req='"GET /healthz HTTP/1.1" 200 2')
        out += ERROR
        out += access.format(stamp=stamp, req='"POST /api/enqueue/ HTTP/1.1" 500 145')
    return out


@pytest.mark.parametrize(
    "access", ["{stamp} {req}\n", "127.0.0.1 - - {stamp} {req}\n"], ids=["runserver", "werkzeug"]
)
@pytest.mark.parametrize("reference", [False, True], ids=["fast", "reference"])
def test_a_dev_servers_errors_take_the_time_of_the_access_line_above(
    tmp_path: Path, access: str, reference: bool
) -> None:
    log = tmp_path / "runserver.log"
    log.write_text(server_log(access))
    args = ["scan", "--format", "json", *(["--reference"] if reference else []), str(log)]
    result = CliRunner().invoke(main, args, env={})
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    assert report["undated"] == []
    assert report["dating"] == {str(log): "own timestamps"}
    (incident,) = report["incidents"]
    assert (incident["events"], incident["first_seen"], incident["last_seen"]) == (
        10,
        "2026-11-26T14:50:01+00:00",
        "2026-11-26T14:50:19+00:00",
    )
