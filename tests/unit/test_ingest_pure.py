"""Ingest's pure parts: keys, charsets, HTML to text, field mappings, signatures, feeds."""

import base64
import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks import Webhook

from services.ingest.feeds import FeedError, next_poll_at, parse_feed, retry_after
from services.ingest.normalize import decode_json, html_to_text, looks_like_html, map_fields
from services.ingest.schemas import ArticleCreate
from services.ingest.signatures import (
    BadSignature,
    new_secret,
    sign_github,
    verify_github,
    verify_standard,
)
from shared import keys
from shared.problems import Problem


def test_a_key_token_parses_back_and_only_its_secret_matches_the_stored_hash():
    made = keys.new_key()
    assert made.token.startswith(f"sw_live_{made.id}_")
    key_id, secret = keys.parse_token(made.token)
    assert key_id == made.id and secret not in made.secret_hash
    assert keys.secret_matches(secret, made.secret_hash)
    assert not keys.secret_matches(secret + "x", made.secret_hash)
    assert keys.parse_token("Bearer-nonsense") is None
    assert keys.parse_token("sw_live_abc") is None


def test_html_bodies_become_paragraphs_without_scripts_or_styles():
    html = ("<html><head><style>p{color:red}</style></head><body>"
            "<p>Judge Cogan ruled on <b>Thursday</b> &amp; denied bail.</p>"
            "<script>track('x')</script><p>A hearing is set for Friday.<br>Noon.</p></body>")
    assert looks_like_html(html)
    body = ArticleCreate.model_validate({
        "outlet": "O", "url": "https://x.example/a", "title": "<b>Guzman</b> &amp; co",
        "published_at": "2017-05-04T20:00:00Z", "body": html}).body
    assert body == ("Judge Cogan ruled on Thursday & denied bail.\n\n"
                    "A hearing is set for Friday.\n\nNoon.")
    assert "track" not in html_to_text(html) and "color" not in html_to_text(html)
    assert not looks_like_html("Prices rose 3 < 4 percent")


@pytest.mark.parametrize("content_type, raw, expected", [
    ("application/json", '{"t": "café"}'.encode(), {"t": "café"}),
    ("application/json", b'\xef\xbb\xbf{"t": 1}', {"t": 1}),  # UTF-8 with a BOM
    ("application/json; charset=ISO-8859-1", '{"t": "café"}'.encode("latin-1"), {"t": "café"}),
    ("application/json; charset=utf-16", '{"t": "café"}'.encode("utf-16"), {"t": "café"}),
])
def test_json_in_its_declared_charset(content_type, raw, expected):
    assert decode_json(raw, content_type) == expected


@pytest.mark.parametrize("content_type, raw, status, slug", [
    ("application/json", b'{"t": "caf\xe9"}', 422, "invalid-encoding"),
    ("application/json; charset=klingon", b"{}", 415, "unsupported-charset"),
    ("text/plain", b"{}", 415, "unsupported-media-type"),
    (None, b"{}", 415, "unsupported-media-type"),
    ("application/json", b'{"t": ', 422, "invalid-json"),
])
def test_undecodable_bodies_are_refused(content_type, raw, status, slug):
    with pytest.raises(Problem) as refused:
        decode_json(raw, content_type)
    assert (refused.value.status, refused.value.type) == (status, slug)


def test_control_characters_are_refused():
    with pytest.raises(ValueError, match="control"):
        ArticleCreate.model_validate({"outlet": "O", "url": "https://x.example/a", "title": "T",
                                      "published_at": "2017-05-04T20:00:00Z",
                                      "body": "nul\x00byte"})


def test_a_field_mapping_picks_dotted_paths_with_defaults():
    payload = {"post": {"headline": "H", "link": "https://x.example/h",
                        "content": [{"html": "<p>B</p>"}], "date": "2017-05-04T20:00:00Z"}}
    mapping = {"title": "post.headline", "url": "post.link", "body": "post.content.0.html",
               "published_at": "post.date"}
    assert map_fields(payload, mapping, {"outlet": "Courier"}) == {
        "outlet": "Courier", "url": "https://x.example/h", "title": "H",
        "published_at": "2017-05-04T20:00:00Z", "body": "<p>B</p>"}
    assert map_fields({"post": {}}, mapping, {"outlet": None}) == {}


def _standard_headers(secret: str, body: bytes, msg_id="msg_1", at: datetime | None = None):
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, at, body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signature}


def test_standard_webhook_signatures():
    secret, body = new_secret("standard"), b'{"a": 1}'
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert verify_standard(secret, body, _standard_headers(secret, body)) == "msg_1"
    bad = [
        _standard_headers(new_secret("standard"), body),  # another secret
        _standard_headers(secret, b'{"a": 2}'),  # another body
        _standard_headers(secret, body, at=datetime.now(UTC) - timedelta(minutes=6)),  # stale
        {**_standard_headers(secret, body), "webhook-signature": "garbage"},
        {k: v for k, v in _standard_headers(secret, body).items() if k != "webhook-id"},
    ]
    for headers in bad:
        with pytest.raises(BadSignature):
            verify_standard(secret, body, headers)
    with pytest.raises(BadSignature):
        verify_standard(secret, b'\xff{}', _standard_headers(secret, body))


def test_github_style_signatures():
    secret, body = "a-shared-secret-from-the-cms", b'{"a": 1}'
    good = {"x-hub-signature-256": sign_github(secret, body), "x-github-delivery": "d1"}
    assert verify_github(secret, body, good) == "d1"
    for headers in ({}, {"x-hub-signature-256": sign_github(secret, b"{}")},
                    {"x-hub-signature-256": sign_github("other-secret", body)}):
        with pytest.raises(BadSignature):
            verify_github(secret, body, headers)


RSS = b"""<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Court</title>
<item><title>Full</title><link>https://x.example/full</link><guid>g-full</guid>
<pubDate>Thu, 04 May 2017 20:00:00 GMT</pubDate><description>short</description>
<content:encoded><![CDATA[<p>The whole text.</p>]]></content:encoded></item>
<item><title>Teaser</title><link>https://x.example/teaser</link>
<description>Only a teaser</description></item>
<item><title>No link</title></item>
</channel></rss>"""


def test_feed_items_know_whether_they_carry_only_a_summary():
    full, teaser = parse_feed(RSS)
    assert (full.key, full.summary_only, full.body) == ("g-full", False, "<p>The whole text.</p>")
    assert full.published_at == datetime(2017, 5, 4, 20, tzinfo=UTC)
    assert (teaser.key, teaser.summary_only, teaser.published_at) == (
        "https://x.example/teaser", True, None)
    changed = parse_feed(RSS.replace(b"The whole text.", b"The whole text, corrected."))[0]
    assert changed.fingerprint != full.fingerprint
    assert parse_feed(RSS)[0].fingerprint == full.fingerprint
    with pytest.raises(FeedError):
        parse_feed(b"<html><body>not a feed</body>")


def test_feed_polls_back_off_after_failures_and_honour_retry_after():
    now, interval, rng = datetime(2024, 1, 1, tzinfo=UTC), timedelta(minutes=5), random.Random(1)
    assert next_poll_at(now, interval, 0) == now + interval
    delays = [next_poll_at(now, interval, n, rng=rng) - now for n in range(1, 8)]
    assert delays[0] > interval * 1.5 and delays[1] > delays[0]
    assert max(delays) <= timedelta(hours=6) * 1.1
    assert next_poll_at(now, interval, 1, timedelta(hours=1)) == now + timedelta(hours=1)
    assert retry_after("120") == timedelta(seconds=120) and retry_after("soon") is None


def test_a_relay_batch_stops_before_the_body_that_would_overflow_it():
    from types import SimpleNamespace

    from services.ingest.relay import within_bytes

    due = [(n, SimpleNamespace(body="é" * size)) for n, size in enumerate([10, 20, 30, 5])]
    assert [n for n, _ in within_bytes(due, 59)] == [0]       # "é" is two bytes: 20, 40, ...
    assert [n for n, _ in within_bytes(due, 60)] == [0, 1]
    assert [n for n, _ in within_bytes(due, 129)] == [0, 1, 2]
    assert [n for n, _ in within_bytes(due, 130)] == [0, 1, 2, 3]
    assert [n for n, _ in within_bytes(due, 1)] == [0]        # one always goes, however long
    assert within_bytes([], 100) == []


@pytest.mark.parametrize("value", [1493928000000, "0001-01-01T00:00:00+14:00",
                                   "9999-12-31T23:59:59Z", "1989-12-31T23:00:00Z",
                                   "2017-05-04T20:00:00", "yesterday"])
def test_published_at_is_an_iso_instant_within_a_sane_window(value):
    from pydantic import ValidationError

    from services.ingest.schemas import ArticleCreate
    with pytest.raises(ValidationError) as refused:
        ArticleCreate(outlet="Wire", url="https://wire.example/a", title="t", body="b",
                      published_at=value)
    assert refused.value.errors()[0]["loc"] == ("published_at",)


def test_published_at_is_read_in_utc():
    from services.ingest.schemas import ArticleCreate
    article = ArticleCreate(outlet="Wire", url="https://wire.example/a", title="t", body="b",
                            published_at="2017-05-04T22:00:00+02:00")
    assert article.published_at.isoformat() == "2017-05-04T20:00:00+00:00"


def _answer(status: int, text: str = "Internal Server Error") -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://relay:s3cret@story.internal/v1/articles:batch")
    response = httpx.Response(status, text=text, request=request)
    return httpx.HTTPStatusError(f"{status} for url {request.url}", request=request,
                                 response=response)


@pytest.mark.parametrize("exc, refused", [
    (_answer(500), True), (_answer(502), True), (_answer(422), True), (_answer(413), True),
    (_answer(400), True),
    (_answer(503), False), (_answer(429), False), (_answer(401), False), (_answer(403), False),
    (_answer(404), False), (_answer(409), False),
    (httpx.ConnectError("All connection attempts failed"), False),
    (httpx.ReadTimeout("timed out"), False), (httpx.RemoteProtocolError("cut"), False),
    (ValueError("the story service answered for other articles"), True),
    (RuntimeError("raised by the story app in process"), True),
])
def test_only_a_refusal_by_the_story_service_counts_towards_parking(exc, refused):
    from services.ingest.relay import refused as is_refusal

    assert is_refusal(exc) is refused


def test_a_failure_is_told_without_the_url_or_secrets():
    from services.ingest.relay import failure_text

    text = failure_text(_answer(500, "oops Bearer sw_live_abc_def\n  whsec_xyz " + "x" * 500))
    assert text.startswith("HTTP 500 from the story service: oops Bearer")
    assert "s3cret" not in text and "story.internal" not in text
    assert "sw_live_" not in text and "whsec_" not in text and len(text) <= 300
    assert failure_text(httpx.ReadTimeout("")) == "ReadTimeout"


PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u062f"  # with a zero-width non-joiner
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"           # an emoji sequence


@pytest.mark.parametrize("raw, clean", [
    ("\u200b\ufeff\u2060\u00ad", ""),                              # zero-width, BOM
    ("\u202eevil\u202c \u2066isolated\u2069 \u200fmark", "evil isolated mark"),  # bidi
    ("\u200d \u200c", " "),                                         # joiners joining nothing
    (PERSIAN, PERSIAN), (FAMILY, FAMILY),                          # joiners that join stay
    ("&#8203;&#x202E;", ""),                                          # encoded ones too
    ("<img src=x onerror=alert(1)>Hi", "Hi"),
    ("a < b", "a < b"), ("3<4 and 5>2", "3<4 and 5>2"), ("if a<b then", "if a<b then"),
    ("mail <desk@bcr.example> or <https://bcr.example>",
     "mail <desk@bcr.example> or <https://bcr.example>"),
    ("AT&amp;T &lt;3 Q&A", "AT&T <3 Q&A"),
    ("<b>Cogan</b> rules<script>if (a<b) {track()}</script><style>p{}</style>", "Cogan rules"),
    ("<o:p>Word</o:p> <!-- a <p> comment -->done", "Word done"),
    ("an open <!-- comment", "an open <!-- comment"),
])
def test_text_fields_keep_plain_visible_text(raw, clean):
    from services.ingest.normalize import clean_text

    assert clean_text(raw) == clean


@pytest.mark.parametrize("field, value", [("title", "\u200b\ufeff"), ("outlet", "\u202e\u200d"),
                                          ("body", "\ufeff\n\n\u200b<p>\u2060</p>")])
def test_a_field_blank_once_cleaned_is_refused(field, value):
    from pydantic import ValidationError

    fields = {"outlet": "Wire", "url": "https://wire.example/a", "title": "t", "body": "b",
              "published_at": "2017-05-04T20:00:00Z", field: value}
    with pytest.raises(ValidationError) as refused:
        ArticleCreate.model_validate(fields)
    assert refused.value.errors()[0]["loc"] == (field,)
