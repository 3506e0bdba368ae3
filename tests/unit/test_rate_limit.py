"""The sliding window of the per-key rate limits, and which keys can be made."""

from collections import deque

from shared import keys
from shared.ratelimit import admit


def test_a_sliding_window_admits_its_limit_then_says_how_long_to_wait():
    times: deque = deque()
    assert admit(times, 100.0, 2, 60) is None
    assert admit(times, 130.0, 2, 60) is None
    assert admit(times, 150.0, 2, 60) == 10         # the request at 100 leaves at 160
    assert admit(times, 159.5, 2, 60) == 1          # never 0: Retry-After is whole seconds
    assert list(times) == [100.0, 130.0]            # refused requests do not count
    assert admit(times, 160.0, 2, 60) is None        # the oldest has left the window
    assert list(times) == [130.0, 160.0]


def test_a_subscriptions_key_is_bound_to_one_subscriber_and_only_it():
    assert keys.scope_problem(["subscriptions"], "sbr_1") is None
    assert keys.scope_problem(["read", "ingest"], None) is None
    assert keys.scope_problem(["subscriptions"], None)
    assert keys.scope_problem(["read"], "sbr_1")
    assert "unknown scope" in keys.scope_problem(["everything"], None)
