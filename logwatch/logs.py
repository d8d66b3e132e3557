"""The agent's log levels: NOTICE, between INFO and WARNING, is what it says by default.

journald is where operators look: at the default verbosity the agent says one line per
incident change and what its start-up checks found, and stays quiet otherwise (`-v` adds
INFO: deliveries, probes; `-vv` DEBUG: every event).
"""

from __future__ import annotations

import logging

NOTICE = 25
logging.addLevelName(NOTICE, "NOTICE")
