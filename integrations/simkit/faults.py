"""What a simulator can be told to get wrong, and the clock tests move instead of sleeping."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


class Clock:
    """Wall clock plus an offset, so tests can jump past a token expiry without sleeping."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0


@dataclass
class Faults:
    """What goes wrong on API routes. The random source lives here so `app.faults = Faults(seed=1)` is
    deterministic without further calls."""

    latency_s: float = 0.0
    error_rate: float = 0.0
    rate_limit_burst: int = 0
    retry_after_s: int = 1
    drop_rate: float = 0.0
    hang_rate: float = 0.0
    hang_s: float = 5.0
    # The next N requests hang for hang_s and are then carried out: the client has given up by then.
    hang_burst: int = 0
    # The provider's own rate limit: a bucket refilled at this many requests per second, holding half a
    # second's worth, at least two (the burst it allows); past it, 429 with Retry-After. 0: no limit.
    rate_limit_per_s: float = 0.0
    seed: int | None = None
    rng: random.Random = field(init=False, repr=False, compare=False)
    _bucket: float = field(init=False, repr=False, compare=False, default=0.0)
    _bucket_at: float = field(init=False, repr=False, compare=False, default=0.0)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._bucket, self._bucket_at = max(2.0, self.rate_limit_per_s / 2), time.monotonic()

    def update(self, values: Mapping[str, Any]) -> None:
        """Set fields from JSON; the converter is the default's type, so "0.5" and 1 both work."""
        names = {name for name in self.to_dict()}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"Unknown fault field(s): {', '.join(unknown)}")
        for name, value in values.items():
            if name == "seed":
                self.seed = None if value is None else int(value)
                self.rng = random.Random(self.seed)
            else:
                setattr(self, name, type(getattr(Faults, name))(value))
        self._bucket, self._bucket_at = max(2.0, self.rate_limit_per_s / 2), time.monotonic()

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.init}

    def pick(self) -> str | None:
        """Decide this request's fault (caller holds the app lock, so a burst is consumed exactly once)."""
        if self.rate_limit_burst > 0:
            self.rate_limit_burst -= 1
            return "rate_limit"
        if self.hang_burst > 0:
            self.hang_burst -= 1
            return "hang"
        if self.rate_limit_per_s > 0:
            now, capacity = time.monotonic(), max(2.0, self.rate_limit_per_s / 2)
            self._bucket = min(capacity, self._bucket + (now - self._bucket_at) * self.rate_limit_per_s)
            self._bucket_at = now
            if self._bucket < 1.0:
                return "rate_limit"
            self._bucket -= 1.0
        for name, rate in (("drop", self.drop_rate), ("hang", self.hang_rate), ("error", self.error_rate)):
            if rate > 0 and self.rng.random() < rate:
                return name
        return None
