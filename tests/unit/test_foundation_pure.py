"""Pure pieces of the foundation: version checks, text normalization, matching, retry policy,
webhook signing."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from services.ingest.relay import retry_delay
from services.notify.channels import SendResult, parse_retry_after, webhook_headers
from services.notify.matching import alert_body, match_reason
from services.notify.models import DELIVERED, FAILED, PENDING
from services.notify.policy import RETRY_SCHEDULE, after_attempt
from shared.eventstore import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    ConcurrencyError,
    check_expected_version,
    deterministic_id,
)
from shared.text import clean_body, content_hash

EVENT = {
    "story": "guzman-detention-conditions",
    "story_title": "Guzman detention conditions",
    "development": {"id": "d1", "type": "ruling", "outcome": "denied", "date": "2017-05-04",
                    "summary": "Judge denied the request", "evidence": "A judge declined..."},
    "article": {"id": "a1", "outlet": "CN", "url": "https://example.org/a1", "title": "T",
                "published_at": "2017-05-04T20:00:00+00:00"},
}


@pytest.mark.parametrize("expected, actual, ok", [
    (ANY, 0, True), (ANY, 5, True), (NO_STREAM, 0, True), (NO_STREAM, 1, False),
    (STREAM_EXISTS, 0, False), (STREAM_EXISTS, 3, True), (3, 3, True), (2, 3, False),
    (0, 0, True),
])
def test_expected_version(expected, actual, ok):
    if ok:
        check_expected_version("s", expected, actual)
    else:
        with pytest.raises(ConcurrencyError):
            check_expected_version("s", expected, actual)


def test_unknown_expected_version_is_a_programming_error():
    with pytest.raises(ValueError):
        check_expected_version("s", "sometimes", 0)
    with pytest.raises(ValueError):
        check_expected_version("s", True, 1)


def test_deterministic_ids_are_stable_and_distinct():
    assert deterministic_id("a", "b") == deterministic_id("a", "b")
    assert deterministic_id("a", "b") != deterministic_id("a", "c")


def test_clean_body_keeps_paragraphs_and_collapses_space():
    raw = "  First  line\r\nstill first.\r\n\r\n\r\n\tSecond\u00a0para.  \n \n"
    assert clean_body(raw) == "First line still first.\n\nSecond para."


def test_content_hash_ignores_quotes_case_and_spacing_but_not_words():
    a = "He said \u201cno\u201d \u2014 twice.\n\nEnd."
    b = 'he  said "no" - twice.\n\nend.'
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash("He said yes - twice. End.")


def test_match_reason_by_filters():
    assert match_reason([], [], [], EVENT) == "subscribed to every development"
    assert match_reason(["guzman-detention-conditions"], ["ruling"], ["denied"], EVENT) == \
        "story is guzman-detention-conditions; type is ruling; outcome is denied"
    assert match_reason(["other-story"], [], [], EVENT) is None
    assert match_reason([], ["hearing"], [], EVENT) is None
    assert match_reason([], [], ["granted"], EVENT) is None


def test_alert_body_is_versioned_and_links_the_timeline():
    now = datetime(2017, 5, 4, 21, tzinfo=UTC)
    body = alert_body(EVENT, 42, "type is ruling", "https://sw.example/", now)
    assert body["type"] == "story.development" and body["version"] == 1
    assert body["timestamp"] == "2017-05-04T21:00:00+00:00"
    data = body["data"]
    assert data["story"]["timeline_url"] == \
        "https://sw.example/v1/stories/guzman-detention-conditions/timeline"
    assert data["development"]["outcome"] == "denied"
    assert data["sources"][0]["url"] == "https://example.org/a1"
    assert data["reason"] == "type is ruling" and data["event_position"] == 42


def result(code, retry_after=None):
    return SendResult(code, None if code else "ConnectError", "", 5, retry_after)


def test_after_attempt_outcomes():
    rng = random.Random(1)
    assert after_attempt(result(204), 1, 7, rng).status == DELIVERED
    gone = after_attempt(result(410), 1, 7, rng)
    assert gone.status == FAILED and "410" in gone.disable_reason
    retry = after_attempt(result(500), 1, 7, rng)
    assert retry.status == PENDING
    assert timedelta(seconds=4.5) <= retry.delay <= timedelta(seconds=5.5)
    assert after_attempt(result(None), 2, 7, rng).delay >= timedelta(seconds=270)
    assert after_attempt(result(500), 7, 7, rng).status == FAILED


def test_retry_after_is_honoured_when_longer_than_the_schedule():
    rng = random.Random(1)
    waited = after_attempt(result(429, retry_after=120), 1, 7, rng)
    assert waited.status == PENDING and waited.delay == timedelta(seconds=120)
    short = after_attempt(result(503, retry_after=1), 3, 7, rng)
    assert short.delay >= timedelta(seconds=RETRY_SCHEDULE[2] * 0.9)
    assert parse_retry_after("30") == 30 and parse_retry_after("soon") is None


def test_relay_backoff_grows_and_is_capped():
    rng = random.Random(3)
    delays = [retry_delay(n, rng).total_seconds() for n in range(12)]
    assert delays[0] < 1 and delays[3] > delays[0]
    assert max(delays) <= 72


def test_webhook_signature_verifies_with_the_reference_library():
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"a":1}'
    now = datetime.now(UTC)
    headers = webhook_headers(secret, "msg_1", body, now)
    assert Webhook(secret).verify(body, headers) == {"a": 1}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify('{"a":2}', headers)
