"""Pure pieces of the notifier: the URL guard, signed tokens, digest windows, Slack and email
messages, the Atom feed, retry and rotation policy."""

import socket
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import pytest
from standardwebhooks import Webhook

from services.notify.channels import webhook_headers
from services.notify.digest import window, window_end
from services.notify.matching import alert_body, digest_body
from services.notify.messages import SLACK_MAX_BLOCKS, atom_feed, email_message, slack_message
from services.notify.policy import (
    attempt_states,
    failing_too_long,
    signing_secrets,
    use_countdown,
)
from services.notify.tokens import FEED, UNSUBSCRIBE, sign, verify
from shared.urlguard import UnsafeURL, check_url, forbidden_reason

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)


def alert(n: int, evidence: str = "A judge declined.") -> dict:
    data = {"story": "s", "story_title": "Story",
            "development": {"id": f"d{n}", "type": "ruling", "outcome": "denied",
                            "date": "2017-05-04", "summary": "", "evidence": evidence},
            "article": {"id": "a", "outlet": "CN", "url": f"https://example.org/{n}",
                        "title": "T", "published_at": "2017-05-04T20:00:00+00:00"}}
    return alert_body(data, n, "type is ruling", "https://sw", NOW)


@pytest.mark.parametrize("address, reason", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("10.0.0.5", "private"), ("192.168.1.1", "private"), ("172.16.0.1", "private"),
    ("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata"),
    ("fe80::1%eth0", "link-local"), ("100.64.0.1", "not a public"), ("0.0.0.0", "private"),
    ("93.184.216.34", None), ("2606:2800:220:1::1", None),
])
def test_forbidden_addresses(address, reason):
    found = forbidden_reason(address)
    assert (found is None) if reason is None else (reason in found)


def resolver(*addresses):
    def resolve(host, port, type=0):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]
    return resolve


def test_check_url_refuses_a_name_that_resolves_inward():
    check_url("https://hooks.example.org/x", False, resolver("93.184.216.34"))
    with pytest.raises(UnsafeURL, match="private"):
        check_url("https://hooks.example.org/x", False, resolver("93.184.216.34", "10.0.0.1"))
    check_url("http://127.0.0.1:8080/x", True, resolver("127.0.0.1"))
    with pytest.raises(UnsafeURL):
        check_url("file:///etc/passwd", True)


def test_tokens_are_signed_for_one_purpose_and_key():
    token = sign(b"k1", UNSUBSCRIBE, "sub_1")
    assert verify(b"k1", UNSUBSCRIBE, token) == "sub_1"
    assert verify(b"k1", FEED, token) is None
    assert verify(b"k2", UNSUBSCRIBE, token) is None
    body, mac = token.split(".")
    assert verify(b"k1", UNSUBSCRIBE, f"{sign(b'k1', UNSUBSCRIBE, 'sub_2').split('.')[0]}.{mac}") \
        is None
    assert verify(b"k1", UNSUBSCRIBE, "garbage") is None


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_daily_windows_keep_local_time_across_daylight_saving():
    spring = window("daily", "08:00", 0, "America/New_York", utc(2024, 3, 10, 14))
    assert spring == (utc(2024, 3, 9, 13), utc(2024, 3, 10, 12))  # 23 hours
    autumn = window("daily", "08:00", 0, "America/New_York", utc(2024, 11, 3, 14))
    assert autumn == (utc(2024, 11, 2, 12), utc(2024, 11, 3, 13))  # 25 hours


def test_a_window_follows_the_local_day_not_the_utc_day():
    # 09:00 in Tokyo is midnight UTC: 23:30 UTC on 1 May is already 2 May there.
    assert window_end("daily", "09:00", 0, "Asia/Tokyo", utc(2024, 5, 1, 23, 30)) == \
        utc(2024, 5, 1, 0)
    assert window_end("daily", "09:00", 0, "Asia/Tokyo", utc(2024, 5, 2, 0, 0)) == \
        utc(2024, 5, 2, 0)


def test_hourly_and_weekly_windows():
    # Kolkata is UTC+5:30: minute 15 local is minute 45 UTC.
    assert window("hourly", "00:15", 0, "Asia/Kolkata", utc(2024, 5, 1, 10, 50)) == \
        (utc(2024, 5, 1, 9, 45), utc(2024, 5, 1, 10, 45))
    # Mondays 09:00 Berlin (CEST, UTC+2); 1 May 2024 is a Wednesday.
    assert window("weekly", "09:00", 0, "Europe/Berlin", NOW) == \
        (utc(2024, 4, 22, 7), utc(2024, 4, 29, 7))


def test_slack_message_stays_within_block_kit_limits():
    payload = digest_body([alert(n, "x" * 5000)["data"] for n in range(60)], NOW, NOW, NOW)
    message = slack_message(payload)
    assert len(message["blocks"]) == SLACK_MAX_BLOCKS
    assert "36 more" in message["blocks"][-1]["text"]["text"]
    for block in message["blocks"]:
        text = block.get("text") or block["elements"][0]
        assert len(text["text"]) <= 3000
    assert message["text"].startswith("storywire digest: 60 developments")
    assert len(message["text"]) <= 3000


def test_email_has_both_parts_and_one_click_headers():
    message = email_message(alert(1), "sw <a@sw.test>", "ed@example.org",
                            "https://sw.test/v1/unsubscribe/tok", "msg_1")
    assert message["List-Unsubscribe"] == "<https://sw.test/v1/unsubscribe/tok>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    kinds = [part.get_content_type() for part in message.iter_parts()]
    assert kinds == ["text/plain", "text/html"]


def test_atom_feed_is_atom():
    entries = [(NOW, alert(2)["data"]), (NOW - timedelta(hours=1), alert(1)["data"])]
    root = ET.fromstring(atom_feed("urn:x", "alerts", "https://sw/f", entries, NOW))
    ns = "{http://www.w3.org/2005/Atom}"
    assert root.tag == f"{ns}feed"
    assert root.find(f"{ns}updated").text == NOW.isoformat()
    ids = [e.find(f"{ns}id").text for e in root.findall(f"{ns}entry")]
    assert ids == ["urn:storywire:development:d2", "urn:storywire:development:d1"]


def test_countdowns_only_for_short_waits_and_disabling_after_days():
    assert use_countdown(timedelta(seconds=5)) and use_countdown(timedelta(minutes=5.5))
    assert not use_countdown(timedelta(minutes=30))
    assert failing_too_long(None, NOW, 72) is None
    assert failing_too_long(NOW - timedelta(hours=71), NOW, 72) is None
    assert "failing since" in failing_too_long(NOW - timedelta(hours=73), NOW, 72)


def test_rotation_signs_with_both_secrets_until_the_grace_period_ends():
    old, new = "whsec_" + "a" * 32, "whsec_" + "b" * 32
    assert signing_secrets(new, old, NOW + timedelta(hours=1), NOW) == [new, old]
    assert signing_secrets(new, old, NOW - timedelta(seconds=1), NOW) == [new]
    headers = webhook_headers([new, old], "msg_1", '{"a":1}', datetime.now(UTC))
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify('{"a":1}', headers) == {"a": 1}


def test_only_the_last_attempt_of_a_live_claim_is_under_way():
    later, earlier = NOW + timedelta(seconds=60), NOW - timedelta(seconds=1)
    assert attempt_states(["completed", "started"], "sending", later, NOW) == \
        ["completed", "started"]
    # The claim lapsed (the worker died mid-send) or the delivery moved on without it.
    assert attempt_states(["started"], "sending", earlier, NOW) == ["interrupted"]
    assert attempt_states(["started"], "pending", None, NOW) == ["interrupted"]
    assert attempt_states(["started", "started"], "sending", later, NOW) == \
        ["interrupted", "started"]
    assert attempt_states(["interrupted", "completed"], "delivered", None, NOW) == \
        ["interrupted", "completed"]
