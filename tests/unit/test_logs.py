"""Structured logs: JSON lines with the ids bound where they were logged, still redacted; the
request id of every HTTP request; the format each command logs in."""

import asyncio
import io
import json
import logging
import warnings

import pytest
from fastapi.testclient import TestClient

from services.notify.matching import alert_body, alert_ids, digest_body
from shared import logs
from shared.logs import JsonFormatter, bound, bound_ids, choose_format
from shared.redact import install
from shared.web import make_app, request_id


def json_lines(emit) -> list[dict]:
    """What `emit(logger)` logs, each line parsed (a line that is not JSON fails)."""
    install()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("storywire.test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_bound_ids_apply_inside_the_block_only_and_nest():
    with bound(article_id="a1"):
        with bound(story="guzman", event_id=None):
            assert bound_ids() == {"article_id": "a1", "story": "guzman"}
        assert bound_ids() == {"article_id": "a1"}
    assert bound_ids() == {}
    with pytest.raises(ValueError, match="not a log id"), bound(articleid="a1"):
        pass


def test_bound_ids_follow_threads_and_stay_apart_between_tasks():
    async def request(rid: str) -> tuple[dict, dict]:
        with bound(request_id=rid):
            await asyncio.sleep(0)
            return bound_ids(), await asyncio.to_thread(bound_ids)

    async def both():
        return await asyncio.gather(request("r1"), request("r2"))

    first, second = asyncio.run(both())
    assert first == ({"request_id": "r1"},) * 2 and second == ({"request_id": "r2"},) * 2


def test_a_json_line_has_time_level_logger_message_and_the_bound_ids():
    def emit(log):
        with bound(article_id="a1", story="guzman"):
            log.info("article %s attached", "a1")
        log.warning("not about an article")
        try:
            raise RuntimeError("the story service went away")
        except RuntimeError:
            log.exception("relay pass failed")

    attached, plain, failed = json_lines(emit)
    assert attached["message"] == "article a1 attached" and attached["level"] == "INFO"
    assert attached["logger"] == "storywire.test.logs" and attached["time"].endswith("+00:00")
    assert (attached["article_id"], attached["story"]) == ("a1", "guzman")
    assert "article_id" not in plain and plain["level"] == "WARNING"
    assert "RuntimeError: the story service went away" in failed["exception"]


def test_json_lines_are_redacted_message_and_traceback():
    def emit(log):
        log.error("subscription failed with %s", {"secret": "whsec_abc123"})
        try:
            raise RuntimeError("refused Bearer sw_live_key_42")
        except RuntimeError:
            log.exception("token sw_live_key_42 refused")

    lines = json_lines(emit)
    text = json.dumps(lines)
    assert "whsec_abc123" not in text and "sw_live_key_42" not in text
    assert "[redacted]" in lines[0]["message"]
    assert "RuntimeError: refused Bearer [redacted]" in lines[1]["exception"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_format_a_command_logs_in():
    assert choose_format("console", machine=True, stream=io.StringIO()) == "console"
    assert choose_format("json", machine=False, stream=Terminal()) == "json"
    assert choose_format(None, machine=True, stream=io.StringIO()) == "json"   # a service
    assert choose_format(None, machine=True, stream=Terminal()) == "console"   # by hand
    assert choose_format(None, machine=False, stream=io.StringIO()) == "console"  # demo


def test_configured_logging_writes_json_lines_warnings_included():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    logging.captureWarnings(False)              # as a new process starts (Celery turns it on)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        try:
            logs.configure("INFO", "json", out, force=True)
            with bound(delivery_id="msg_1"):
                logging.getLogger("storywire.test.configure").info("delivery sent")
            warnings.warn("running as root", UserWarning, stacklevel=1)
            logging.getLogger("httpx").info("a request")          # kept quiet
        finally:
            logging.captureWarnings(False)
            root.handlers[:] = handlers
            root.setLevel(level)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["logger"] for line in lines] == ["storywire.test.configure", "py.warnings"]
    assert lines[0]["delivery_id"] == "msg_1" and "running as root" in lines[1]["message"]


def test_a_request_id_is_the_callers_when_well_formed():
    assert request_id("desk-42.a:b_c") == "desk-42.a:b_c"
    for bad in (None, "", "has space", "x" * 129, "-leading", "new\nline"):
        made = request_id(bad)
        assert made != bad and len(made) == 32


def test_every_response_carries_its_request_id_and_the_lines_logged_for_it():
    app = make_app("test", "request ids")

    @app.get("/article")
    def read_article():
        return {"ok": True}

    @app.get("/boom")
    def boom():
        raise RuntimeError("fails")

    with TestClient(app, raise_server_exceptions=False) as client:
        given = client.get("/article", headers={"x-request-id": "desk-7"})
        made = client.get("/article", headers={"x-request-id": "bad id"})
        failed = client.get("/boom")
        missing = client.get("/nowhere")
    assert given.headers["x-request-id"] == "desk-7"
    assert made.headers["x-request-id"] not in ("bad id", given.headers["x-request-id"])
    assert failed.status_code == 500 and failed.headers["x-request-id"]
    assert missing.status_code == 404 and missing.headers["x-request-id"]


def test_the_request_id_is_bound_while_the_request_is_served():
    app = make_app("test", "request ids")

    @app.get("/article")
    async def read_article():
        return bound_ids()

    with TestClient(app) as client:
        answer = client.get("/article", headers={"x-request-id": "desk-8"})
    assert answer.json() == {"request_id": "desk-8"}


def test_an_alert_names_its_story_development_and_article_a_digest_none():
    from datetime import UTC, datetime

    now = datetime(2026, 12, 3, tzinfo=UTC)
    event = {"story": "guzman", "development": {"id": "dev1", "type": "ruling",
                                                "evidence": "The judge denied it."},
             "article": {"id": "a1", "url": "https://x.example/a"}}
    alert = alert_body(event, 7, "subscribed", "http://story", now)
    assert alert_ids(alert) == {"story": "guzman", "development_id": "dev1", "article_id": "a1"}
    assert alert_ids(digest_body([alert["data"]], now, now, now)) == {}
