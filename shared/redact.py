"""Secrets never reach a log: every log record is redacted as it is made, its message and its
traceback alike, whatever logger or handler it goes to (uvicorn's, Celery's, ours).

What counts as a secret: webhook signing secrets (`whsec_…`), API tokens (`sw_live_…`),
bearer credentials, and the value of any `secret`/`password`/`token` field printed as a
mapping (`'secret': '…'`)."""

from __future__ import annotations

import logging
import re
import traceback

TOKEN = re.compile(r"whsec_[A-Za-z0-9+/=_-]+|sw_live_[A-Za-z0-9_-]+")
BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
FIELD = re.compile(r"(?i)(['\"](?:secret|previous_secret|password|token|api_key)['\"]\s*:\s*)"
                   r"(['\"])[^'\"]*\2")
MASK = "[redacted]"


def redact(text: str) -> str:
    """The text with every secret it holds replaced."""
    if not text:
        return text
    text = FIELD.sub(lambda m: f"{m.group(1)}'{MASK}'", text)
    text = BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return TOKEN.sub(MASK, text)


_installed = False


def install() -> None:
    """Redact every log record this process makes from now on (idempotent)."""
    global _installed
    if _installed:
        return
    make = logging.getLogRecordFactory()

    def redacted_record(*args, **kwargs) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:                       # a bad format string: leave it to logging
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info))
                                     .rstrip("\n"))
        return record

    logging.setLogRecordFactory(redacted_record)
    _installed = True
