"""Secrets never reach a log: messages and tracebacks are redacted as records are made."""

import io
import logging

from shared.redact import install, redact


def test_secrets_in_text_are_masked_and_the_rest_kept():
    text = ("insert failed: {'name': 'desk', 'secret': 'whsec_QUJD+/=', 'password': 'pw'} "
            "Authorization: Bearer sw_live_ab12_cd_34 and token sw_live_zz_9 "
            '{"api_key": "k-1"}')
    clean = redact(text)
    for secret in ("whsec_QUJD", "sw_live_ab12", "sw_live_zz_9", "'pw'", "k-1"):
        assert secret not in clean
    assert "'name': 'desk'" in clean and "Authorization: Bearer [redacted]" in clean


def test_every_log_record_is_redacted_message_and_traceback():
    install()
    install()                                   # idempotent
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logger = logging.getLogger("storywire.test.redact")
    logger.addHandler(handler)
    try:
        logger.error("delivery %s failed with %s", "d1", {"secret": "whsec_abc"})
        try:
            raise RuntimeError("rejected Bearer sw_live_k_s")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    logged = out.getvalue()
    assert "whsec_abc" not in logged and "sw_live_k_s" not in logged
    assert "delivery d1 failed" in logged and "RuntimeError: rejected Bearer [redacted]" in logged
