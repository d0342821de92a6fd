"""A token-bucket rate limiter with an injectable clock and sleep (so tests never really wait)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBucket:
    """Allow ``rate_per_second`` requests on average, in bursts of up to ``capacity``.

    The bucket starts full. ``acquire`` takes tokens, first sleeping (through the injected
    ``sleep``, in seconds) until enough have accumulated. ``clock`` returns seconds from a
    monotonic origin. ``rate_per_second=math.inf`` disables limiting entirely.
    """

    def __init__(
        self,
        rate_per_second: float,
        capacity: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        if capacity < 1:
            raise ValueError("capacity must be at least one token")
        self.rate_per_second = float(rate_per_second)
        self.capacity = float(capacity)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._updated = clock()
        self._lock = threading.Lock()

    @property
    def unlimited(self) -> bool:
        """True when the bucket never waits."""
        return math.isinf(self.rate_per_second)

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate_per_second)
        self._updated = now

    def acquire(self, tokens: float = 1.0) -> float:
        """Take ``tokens`` from the bucket, sleeping as long as needed; return seconds slept.

        Reservation semantics: the tokens are taken at once (the balance may go negative)
        and the caller sleeps until the balance would have recovered to zero, so concurrent
        callers queue up fairly and the sleep happens outside the lock.
        """
        if self.unlimited:
            return 0.0
        if tokens > self.capacity:
            raise ValueError(f"cannot acquire {tokens} tokens from a bucket of {self.capacity}")
        with self._lock:
            self._refill()
            self._tokens -= tokens
            wait = max(0.0, -self._tokens / self.rate_per_second)
        if wait > 0:
            self._sleep(wait)
        return wait
