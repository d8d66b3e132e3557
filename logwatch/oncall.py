"""On-call state of an incident: who acknowledged it, and what silences it. Pure values.

A silence mutes the notifications of the incidents it matches (category, target, or one
incident) for a while; the incidents are still recorded, counted and listed. Silences come
from `logwatch silence add`, from the Silence buttons in Slack, from `[[maintenance]]`
windows in the config, and from `[[inhibit]]` rules (an open incident of one category
hides incidents of others on the same Redis). Acknowledgements come from the Acknowledge
button: an acknowledged incident gets no reminders.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

SilenceKind = Literal["silence", "maintenance", "inhibit"]
#: A Slack user id, shown as a mention (`<@U123>`); anything else is shown as text.
SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Ack:
    """Someone said "I'm on it"."""

    by: str  # a Slack user id (U123...) or a name from the command line
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Silence:
    """Mutes the notifications of matching incidents from `starts` until `ends`."""

    id: str
    by: str
    reason: str
    starts: datetime
    ends: datetime | None  # None: until the incident it names resolves
    category: str | None = None  # None: any
    target: str | None = None
    incident: str | None = None  # an incident (or outage) id; None: any
    kind: SilenceKind = "silence"

    def matches(self, category: str, target: str, ids: tuple[str, ...], at: datetime) -> bool:
        """True when it covers an incident of this category and target (with these ids:
        its own and its outage's) at `at`."""
        if at < self.starts or (self.ends is not None and at >= self.ends):
            return False
        if self.incident is not None and self.incident not in ids:
            return False
        if self.category is not None and self.category != category:
            return False
        return self.target is None or self.target == target

    def describe(self) -> str:
        """`sil-3f2a by alice: resize` (the reason after the colon, when there is one)."""
        what = {"silence": "silenced", "maintenance": "maintenance window",
                "inhibit": "inhibited"}[self.kind]  # fmt: skip
        return f"{what} ({self.id}) by {self.by}" + (f": {self.reason}" if self.reason else "")


def ack_to_json(ack: Ack | None) -> dict[str, Any] | None:
    """The incident JSON's `acknowledged` object."""
    return None if ack is None else {"by": ack.by, "at": ack.at.isoformat()}


def ack_from_json(data: Mapping[str, Any] | None) -> Ack | None:
    """Inverse of ack_to_json; None for older bodies without the key."""
    if not data:
        return None
    return Ack(by=str(data["by"]), at=datetime.fromisoformat(data["at"]))


def silence_to_json(silence: Silence | None) -> dict[str, Any] | None:
    """The incident JSON's `silenced` object (also a row of `logwatch silence list`)."""
    if silence is None:
        return None
    return {
        "id": silence.id,
        "kind": silence.kind,
        "by": silence.by,
        "reason": silence.reason,
        "starts": silence.starts.isoformat(),
        "ends": silence.ends.isoformat() if silence.ends else None,
        "category": silence.category,
        "target": silence.target,
        "incident": silence.incident,
    }


def silence_from_json(data: Mapping[str, Any] | None) -> Silence | None:
    """Inverse of silence_to_json; None for older bodies without the key."""
    if not data:
        return None
    ends = data.get("ends")
    kind = data.get("kind", "silence")
    return Silence(
        id=str(data["id"]),
        kind=kind if kind in ("silence", "maintenance", "inhibit") else "silence",
        by=str(data.get("by", "")),
        reason=str(data.get("reason", "")),
        starts=datetime.fromisoformat(data["starts"]),
        ends=datetime.fromisoformat(ends) if ends else None,
        category=data.get("category"),
        target=data.get("target"),
        incident=data.get("incident"),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ButtonPress:
    """A button pressed on a root message in Slack (notify/actions.py hears it)."""

    action: str  # compose.ACTION_*
    incident: str  # the incident id the button carries
    user: str  # the Slack user id of who pressed it
    at: datetime
