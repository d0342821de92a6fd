"""A limit on failed logins per client address: pure, thread-safe, no I/O, no ASGI.

**The rule.** An address may fail at most ``max_failures`` times (default 5) within a sliding
window of ``window_seconds`` (default 300 s). A failure recorded at time ``t`` counts while
``now < t + window_seconds``. Once an address has ``max_failures`` failures in the window it
is locked out: :meth:`LoginThrottle.retry_after` answers the seconds until the oldest of
those failures expires, and the caller should refuse the attempt without checking it. A
success clears the address's failures.

All times are in seconds, read from the injected ``clock`` (default :func:`time.monotonic`),
so tests never sleep.

**Memory is bounded.** Addresses whose failures have all expired are forgotten on every
call (amortised O(1): addresses are kept in order of their latest failure, so the expired
ones are at the front), each address keeps at most ``max_failures`` timestamps, and at most
``max_addresses`` (default 10,000) addresses are tracked: a new one beyond that drops the
stalest (the one whose latest failure is oldest).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

DEFAULT_MAX_FAILURES = 5
DEFAULT_WINDOW_SECONDS = 300.0
DEFAULT_MAX_ADDRESSES = 10_000


class LoginThrottle:
    """At most ``max_failures`` failed logins per address within ``window_seconds`` seconds.

    See the module docstring for the rule. Safe to share between threads.
    """

    def __init__(
        self,
        max_failures: int = DEFAULT_MAX_FAILURES,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        *,
        max_addresses: int = DEFAULT_MAX_ADDRESSES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        if max_addresses < 1:
            raise ValueError("max_addresses must be at least 1")
        self.max_failures = max_failures
        self.window_seconds = float(window_seconds)
        self.max_addresses = max_addresses
        self._clock = clock
        self._lock = threading.Lock()
        # address -> failure times (seconds, oldest first); ordered by latest failure.
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, address: str) -> float | None:
        """Seconds until ``address`` may try again (> 0), or ``None`` when it may try now."""
        with self._lock:
            now = self._clock()
            self._prune(now)
            times = self._failures.get(address)
            if times is None:
                return None
            while times and now >= times[0] + self.window_seconds:
                times.popleft()
            if len(times) < self.max_failures:
                return None
            return times[0] + self.window_seconds - now

    def record_failure(self, address: str) -> None:
        """Count one failed login by ``address`` at the clock's current time."""
        with self._lock:
            now = self._clock()
            self._prune(now)
            times = self._failures.get(address)
            if times is None:
                while len(self._failures) >= self.max_addresses:
                    self._failures.popitem(last=False)
                times = deque(maxlen=self.max_failures)
                self._failures[address] = times
            else:
                self._failures.move_to_end(address)
            times.append(now)

    def record_success(self, address: str) -> None:
        """Forget every failure of ``address`` (it has logged in)."""
        with self._lock:
            self._prune(self._clock())
            self._failures.pop(address, None)

    def tracked_addresses(self) -> int:
        """How many addresses currently have failures in the window."""
        with self._lock:
            self._prune(self._clock())
            return len(self._failures)

    def _prune(self, now: float) -> None:
        """Drop the addresses whose latest failure has expired (they sit at the front)."""
        while self._failures:
            times = next(iter(self._failures.values()))
            if times and now < times[-1] + self.window_seconds:
                return
            self._failures.popitem(last=False)
