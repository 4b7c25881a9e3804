"""Delay schedules: retries after a failure, and polling while waiting for Livy to finish something."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by attempts and by total time.

    ``budget`` caps the seconds spent on one call across all its attempts, so a storm of 5xx ends in a
    clear error within a known time instead of sparkmagic's ~25 s of blind retries.
    """

    max_attempts: int = 5
    base_delay: float = 0.1
    max_delay: float = 2.0
    budget: float = 15.0

    def delays(self) -> Iterator[float]:
        """The sleep before each retry: ``max_attempts - 1`` values."""
        for attempt in range(self.max_attempts - 1):
            ceiling = min(self.max_delay, self.base_delay * (2**attempt))
            # Full jitter spreads the retries of many clients hit by the same outage.
            yield random.uniform(ceiling / 2, ceiling)


NO_RETRY = RetryPolicy(max_attempts=1)


@dataclass(frozen=True)
class PollBackoff:
    """Polling intervals that start at milliseconds and grow to a ceiling.

    A trivial statement finishes within a few milliseconds on a warm session; the first polls catch it
    at once, while a long job is polled at most every ``ceiling`` seconds.
    """

    first: float = 0.002
    factor: float = 1.5
    ceiling: float = 1.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(self.ceiling, delay * self.factor)
