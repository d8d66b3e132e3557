"""slack-sdk's plumbing shared by the Web API notifier and the webhook one: which
failures the client retries itself (a reset connection once, a 429 with a short
Retry-After), Retry-After read from Slack's answer, an unreachable or silent Slack as a
`Retry` (a timeout is "uncertain": the post may have landed), and secrets masked in
everything slack-sdk logs or returns.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.error import URLError

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from logwatch.notify import Retry
from logwatch.redact import MASK

logger = logging.getLogger("logwatch.notify.slack")

RETRY_HINT_S = 1.0  # for 5xx and outages: the outbox backs off exponentially from here
RATE_LIMIT_DEFAULT_S = 30.0  # a 429 without Retry-After (Slack always sends one)


class ShortRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Retries a 429 in the client only when Retry-After is short; longer waits go to the outbox."""

    def __init__(self, *, max_wait_s: float = 2.0, max_retry_count: int = 1) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_s = max_wait_s

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        values = {k.lower(): v for k, v in response.headers.items()}.get("retry-after") or []
        wait = _seconds(values[0] if values else None)
        return wait is not None and wait <= self.max_wait_s


def _seconds(value: object) -> float | None:
    try:
        seconds = float(str(value).strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def retry_after(headers: Mapping[str, Any] | None) -> float:
    """Seconds from a Retry-After header (Slack sends whole seconds); a default if absent."""
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            first = value[0] if isinstance(value, list) and value else value
            seconds = _seconds(first)
            if seconds is not None:
                return seconds
    return RATE_LIMIT_DEFAULT_S


class MaskSecrets(logging.Filter):
    """Defence in depth for slack-sdk's own log lines: the token or URL is never printed."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        masked = mask(text, self._secrets)
        if masked != text:
            record.msg, record.args = masked, None
        return True


def retry_handlers(rate_limit_wait_s: float) -> list[RetryHandler]:
    # One quick retry of a reset connection; a 429 only when its wait is short.
    handlers: list[RetryHandler] = [
        ConnectionErrorRetryHandler(
            max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.25)
        )
    ]
    if rate_limit_wait_s > 0:
        handlers.append(ShortRateLimitRetryHandler(max_wait_s=rate_limit_wait_s))
    return handlers


def sdk_logger(secrets: Sequence[str]) -> logging.Logger:
    # A private logger per client (not registered, so it is freed with the notifier). Its
    # level keeps slack-sdk quiet: the outcome is returned and logged once by the outbox,
    # where the SDK would log an ERROR for every attempt of an hour-long outage.
    sdk = logging.Logger(f"{__name__}.sdk", level=logging.CRITICAL)
    sdk.parent = logger
    sdk.addFilter(MaskSecrets(secrets))
    return sdk


def mask(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


def masked(value: Any, secrets: Sequence[str]) -> Any:
    """A JSON-like value with every known secret masked in its strings."""
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, Mapping):
        return {k: masked(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(v, secrets) for v in value]
    return value


def unreachable(what: str, exc: BaseException) -> Retry:
    cause = exc.reason if isinstance(exc, URLError) else exc
    text = str(cause) or type(cause).__name__
    if isinstance(cause, TimeoutError) or "timed out" in text:
        # Sent, but no answer: Slack may have taken it. The next attempt checks first.
        return Retry(after_s=RETRY_HINT_S, reason=f"{what}: Slack timed out", uncertain=True)
    if isinstance(cause, ConnectionRefusedError) or "refused" in text:
        return Retry(after_s=RETRY_HINT_S, reason=f"{what}: Slack unreachable: {text}")
    return Retry(after_s=RETRY_HINT_S, reason=f"{what}: Slack unreachable: {text}", uncertain=True)
