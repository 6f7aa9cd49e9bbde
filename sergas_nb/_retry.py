"""When to try a call again, and how long to wait: exponential backoff with jitter (tenacity).

Safe to repeat:
- 429 TOO_MANY_REQUESTS, always: Zoho refused the call, nothing was applied.
- ZohoNotSentError (connection refused, DNS, connect timeout), always: the request never left.
- 5xx and ZohoOutcomeUnknownError (read timeouts, dropped connections, unreadable answers) only for
  calls that are safe to repeat (reads, COQL): a write may have been applied before the answer was
  lost, so the write path reads it back instead (_writes.py).
A 401 INVALID_TOKEN is not handled here: the client refreshes once and retries once.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from sergas_nb.errors import ZohoAPIError, ZohoNotSentError, ZohoOutcomeUnknownError, ZohoRateLimitError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` in all (1 = no retry); waits grow ``base * 2**n`` up to ``max_wait``, with full jitter."""

    attempts: int = 4
    base: float = 0.5
    max_wait: float = 8.0


def retriable(exc: BaseException, idempotent: bool) -> bool:
    """Whether ``exc`` may be retried for a call that is (or is not) safe to repeat."""
    if isinstance(exc, ZohoRateLimitError):
        return True
    if isinstance(exc, ZohoNotSentError):
        return exc.code != "OFF_HOST"  # refused by our own host allow-list: resending changes nothing
    if isinstance(exc, ZohoOutcomeUnknownError):
        return idempotent
    if isinstance(exc, ZohoAPIError) and exc.status is not None and exc.status >= 500:
        return idempotent
    return False


def run(
    fn: Callable[[], T],
    *,
    idempotent: bool,
    policy: RetryPolicy,
    on_retry: Callable[[BaseException, int, float], None] | None = None,
) -> tuple[T, int]:
    """``fn()`` with retries; returns (result, retries used). The last error propagates as is."""

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        backoff = random.uniform(0, min(policy.max_wait, policy.base * 2 ** (state.attempt_number - 1)))
        retry_after = getattr(exc, "retry_after", None)
        # Zoho documents no Retry-After, but honour one if it comes (capped: never hang a notebook).
        return max(backoff, min(float(retry_after), policy.max_wait)) if retry_after else backoff

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        if on_retry is not None and exc is not None:
            on_retry(
                exc,
                state.attempt_number,
                state.next_action.sleep if state.next_action else 0.0,
            )

    retrying = Retrying(
        stop=stop_after_attempt(max(1, policy.attempts)),
        wait=wait,
        reraise=True,
        retry=retry_if_exception(lambda e: retriable(e, idempotent)),
        before_sleep=before_sleep,
    )
    attempts = 0

    def counted() -> T:
        nonlocal attempts
        attempts += 1
        return fn()

    try:
        result = retrying(counted)
    except BaseException as exc:
        exc.retries_used = attempts - 1  # type: ignore[attr-defined]  # for the caller's metrics
        raise
    return result, attempts - 1
