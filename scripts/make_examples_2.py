#!/usr/bin/env python3
"""Produce examples/outages-2/: eleven real Redis outages under a second, older stack.

Run by a developer (not by CI), as root, on a machine with redis-server:

    python3 scripts/make_examples_2.py [--out examples/outages-2] [--keys 6000000]

It creates .cache/examples-2/venv (git-ignored) with redis-py 4.6 (sync and redis.asyncio),
RQ 1.16, Django 4.2 + django-rq behind gunicorn sync workers, FastAPI + uvicorn with
structlog JSON, supervisor, psycopg and requests (scripts/outage_stack2/venv.py pins them),
installs Debian's logrotate if missing, then re-runs itself in that venv and:

* starts its own redis-server (as `nobody`) on a free 127.0.0.1 port;
* starts supervisord in a private mount namespace, running gunicorn (Django, Django's
  "verbose" log format), uvicorn (FastAPI, structlog JSON), `manage.py rqworker` and a
  "beat" scheduler (Python's default `LEVEL:name:message`, stderr captured by supervisor);
* sends a few requests a second, then breaks Redis eleven ways with healthy stretches in
  between (scripts/outage_stack2/outages.py), rotating django.log with logrotate twice;
* stops every process it started, by handle or PID (also on Ctrl-C or an error), and writes
  the logs, expected.json and logwatch.toml into the output directory, and the table in
  examples/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
sys.path.insert(0, str(SCRIPTS))

from outage_stack2 import venv  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=REPO / "examples" / "outages-2")
    parser.add_argument("--keys", type=int, default=6_000_000, help="keys of the big RDB")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated outage ids (a trial run)")
    parser.add_argument("--no-readme", action="store_true", help="leave examples/README.md")
    args = parser.parse_args(argv)
    if Path(sys.prefix).resolve() != venv.VENV.resolve():
        venv.ensure_tools()
        python = venv.ensure_venv()
        os.execv(str(python), [str(python), __file__, *sys.argv[1:]])
    from outage_stack2 import scenario

    readme = None if args.no_readme else REPO / "examples" / "README.md"
    only = [x for x in args.only.split(",") if x]
    return scenario.run(args.out.resolve(), readme, args.keys, args.seed, only)


if __name__ == "__main__":
    sys.exit(main())
