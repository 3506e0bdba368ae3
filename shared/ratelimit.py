"""Per-key rate limits: a sliding window of `limit` requests per `window` seconds for each
(bucket, key). Counted in Redis when the broker is Redis, so that every instance of a service
shares the count; in the process otherwise (the embedded default)."""

import logging
import math
import threading
import time
import uuid
from collections import deque
from typing import Protocol

log = logging.getLogger(__name__)


class RateLimited(Exception):
    """Too many requests: try again in `retry_after` seconds."""

    def __init__(self, bucket: str, retry_after: int):
        super().__init__(f"too many {bucket} requests")
        self.bucket = bucket
        self.retry_after = retry_after


def wait_seconds(oldest: float, now: float, window: float) -> int:
    """Whole seconds until the oldest request in a full window leaves it (at least 1)."""
    return max(1, math.ceil(oldest + window - now))


def admit(times: deque, now: float, limit: int, window: float) -> int | None:
    """Record a request at `now` in `times` (its window's request times, oldest first) if it
    fits; else the seconds to wait."""
    while times and times[0] <= now - window:
        times.popleft()
    if len(times) >= limit:
        return wait_seconds(times[0], now, window)
    times.append(now)
    return None


class Limiter(Protocol):
    def hit(self, bucket: str, key_id: str, limit: int, window: float) -> int | None:
        """None when the request fits, else the seconds to wait."""


class MemoryLimiter:
    def __init__(self):
        self._windows: dict[tuple[str, str], deque] = {}
        self._lock = threading.Lock()

    def hit(self, bucket: str, key_id: str, limit: int, window: float) -> int | None:
        with self._lock:
            times = self._windows.setdefault((bucket, key_id), deque())
            return admit(times, time.time(), limit, window)


class RedisLimiter:
    """A sorted set per (bucket, key) of the request times in its window; trimming, adding
    and counting run in one MULTI, so instances sharing the Redis never both take the last
    place. A refused request is taken out again: it does not count."""

    def __init__(self, url: str):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)

    def hit(self, bucket: str, key_id: str, limit: int, window: float) -> int | None:
        import redis

        try:
            return self._hit(bucket, key_id, limit, window)
        except redis.RedisError as exc:  # no count without Redis: the request is let through
            log.warning("rate limit not counted: %s", type(exc).__name__)
            return None

    def _hit(self, bucket: str, key_id: str, limit: int, window: float) -> int | None:
        name = f"storywire:rate:{bucket}:{key_id}"
        now = time.time()
        member = f"{now:.6f}:{uuid.uuid4().hex}"
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(name, "-inf", now - window)
            pipe.zadd(name, {member: now})
            pipe.zcard(name)
            pipe.zrange(name, 0, 0, withscores=True)
            pipe.expire(name, math.ceil(window) + 1)
            _, _, count, oldest, _ = pipe.execute()
        if count <= limit:
            return None
        self._redis.zrem(name, member)
        return wait_seconds(oldest[0][1], now, window)


def limiter_for(broker_url: str) -> Limiter:
    if broker_url.startswith(("redis://", "rediss://")):
        return RedisLimiter(broker_url)
    return MemoryLimiter()
