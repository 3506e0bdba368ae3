"""Logs: one JSON object a line for machines, plain lines for a terminal, and the ids that
follow an article through the system (`request_id`, `article_id`, `story`, `event_id`,
`development_id`, `delivery_id`) bound on every line logged while they apply:

    with bound(article_id=article.id, story=slug):
        log.info("article attached to story")

The ids live in a context variable, so they follow a request through its async tasks and
threads started with `asyncio.to_thread`, and never leak from one request to another. Secrets
are stripped as records are made (`shared/redact.py`), whichever format writes them."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

from shared.redact import install as redact_logs

IDS = ("request_id", "article_id", "story", "event_id", "development_id", "delivery_id")
FORMATS = ("json", "console")
CONSOLE = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_LOGGERS = {"httpx": logging.WARNING,                  # a line per feed poll is noise
                 "alembic.runtime.plugins": logging.WARNING}  # a line a plugin

_bound: ContextVar[dict[str, str]] = ContextVar("storywire_log_ids")


@contextmanager
def bound(**ids: object) -> Iterator[None]:
    """Bind these ids (None ones are left out) to every line logged inside the block, on top
    of those already bound."""
    unknown = set(ids) - set(IDS)
    if unknown:
        raise ValueError(f"not a log id: {', '.join(sorted(unknown))}")
    token = _bound.set({**_bound.get({}), **{k: str(v) for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _bound.reset(token)


def bound_ids() -> dict[str, str]:
    """The ids bound where this is called."""
    return dict(_bound.get({}))


class JsonFormatter(logging.Formatter):
    """A record as one JSON line: `time` (UTC, ISO 8601), `level`, `logger`, `message`, the
    bound ids, and `exception` when there is a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **bound_ids(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def choose_format(setting: str | None, machine: bool, stream: TextIO | None = None) -> str:
    """The format to log in: the setting when given; else JSON for a long-running service
    (`machine`) whose stderr is not a terminal, plain lines otherwise."""
    if setting:
        return setting
    stream = stream or sys.stderr
    return "json" if machine and not _isatty(stream) else "console"


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


_configured = False


def configure(level: str | int, log_format: str, stream: TextIO | None = None,
              force: bool = False) -> None:
    """Log everything at `level` and above to stderr in `log_format`, secrets redacted, through
    one handler on the root logger, which uvicorn's and Celery's loggers propagate to. Like
    `logging.basicConfig`, a root logger with handlers already is left as it is, unless
    `force`."""
    global _configured
    redact_logs()
    root = logging.getLogger()
    if root.handlers and not force:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(CONSOLE))
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)                   # warnings are log lines too
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(quiet)
    _configured = True


def configured() -> bool:
    """Whether this process's logging was set up by `configure`."""
    return _configured
