"""Retrying transient failures only: capped exponential backoff, jitter, Retry-After."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from kfops.errors import Unavailable

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a transient failure (tests set the delays to zero)."""

    attempts: int = 8
    base: float = 0.5
    """Seconds before the first retry; doubled each time."""
    cap: float = 15.0
    """Longest wait between two attempts (a longer Retry-After still wins)."""
    jitter: float = 0.5
    """Up to this share of each wait is random, so many clients do not retry in step."""


def retrying(policy: RetryPolicy, call: Callable[[], T],
             sleep: Callable[[float], None] = time.sleep) -> T:
    """The result of `call`, retried while it raises Unavailable."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return call()
        except Unavailable as error:
            if attempt == policy.attempts:
                raise
            wait = min(policy.cap, policy.base * 2 ** (attempt - 1))
            wait += random.uniform(0, wait * policy.jitter)
            if error.retry_after is not None:
                wait = max(wait, error.retry_after)
            sleep(wait)
    raise AssertionError("unreachable")
