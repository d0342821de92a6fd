"""A fake monotonic clock for tests of retries, rate limits and polling: no real sleeping."""


class FakeClock:
    """A monotonic clock (call it for the time, in seconds) that only moves when ``sleep`` is
    called; ``sleeps`` records every requested sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
