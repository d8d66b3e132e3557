"""The older generation of the software, in its own venv (git-ignored, under .cache/)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".cache" / "examples-2" / "venv"
#: Pinned: the examples say which versions printed them.
REQUIREMENTS = [
    "redis==4.6.0",
    "rq==1.16.2",
    "Django==4.2.30",
    "django-rq==2.10.2",
    "gunicorn==21.2.0",
    "fastapi==0.110.3",
    "uvicorn==0.29.0",
    "structlog==24.4.0",
    "supervisor==4.2.5",
    "psycopg[binary]==3.1.20",
    "requests==2.31.0",
]


def python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> Path:
    """Create the venv and install the pins (a no-op when they are all there)."""
    if not python().exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    marker = VENV / "requirements.txt"
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if not marker.exists() or marker.read_text() != wanted:
        subprocess.run([str(python()), "-m", "pip", "install", "-q", *REQUIREMENTS], check=True)
        marker.write_text(wanted)
    return python()


def ensure_tools() -> None:
    """logrotate (Debian's package) and the util-linux tools the stack needs; root only."""
    if shutil.which("logrotate") is None:
        print("logrotate not found: apt-get install -y logrotate", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "logrotate"], check=True)
    for tool in ("redis-server", "unshare", "setpriv"):
        if shutil.which(tool) is None:
            sys.exit(f"make_examples_2.py: {tool} is not on PATH")
    if os.geteuid() != 0:
        sys.exit("make_examples_2.py: needs root (a private mount namespace, redis as nobody)")
