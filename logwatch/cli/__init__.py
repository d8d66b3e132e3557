"""Command line: parses options, builds a context, delegates. No business logic here.

`main` is the `logwatch` group (cli/app.py); each command lives in the module of its kind
and is added to the group here, so no command module imports another or this one.
"""

from __future__ import annotations

from logwatch.cli.app import main
from logwatch.cli.checks import check, test_cmd
from logwatch.cli.fleet import fleet
from logwatch.cli.init import init
from logwatch.cli.oncall import routes, silence
from logwatch.cli.probe import notify_test, probe
from logwatch.cli.scan import scan
from logwatch.cli.state import incidents, report, status
from logwatch.cli.watch import watch

__all__ = ["main"]

for _command in (scan, check, test_cmd, watch, incidents, status, report, notify_test, probe,
                 silence, routes, init, fleet):  # fmt: skip
    main.add_command(_command)
