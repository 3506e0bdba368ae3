"""Celery: the app, and thin tasks that take a delivery id and re-read the row."""

import logging

import httpx
from celery import Celery

from services.notify import store
from services.notify.channels import send_webhook
from services.notify.models import DeliveryAttempt
from services.notify.policy import after_attempt
from shared.db import get_engine, utcnow
from shared.settings import Settings, get_settings

log = logging.getLogger("storywire.notify.tasks")

VISIBILITY_TIMEOUT = 3600


def make_celery(broker_url: str) -> Celery:
    app = Celery("storywire", broker=broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=60,
        task_soft_time_limit=50,
        task_ignore_result=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        broker_connection_retry_on_startup=True,
        task_default_queue="storywire-notify",
    )
    return app


celery_app = make_celery(get_settings().broker_url)
_settings: Settings | None = None


def configure(settings: Settings) -> None:
    """Use these settings in this process's tasks (the embedded mode passes its own)."""
    global _settings
    _settings = settings
    celery_app.conf.broker_url = settings.broker_url


def current_settings() -> Settings:
    return _settings or get_settings()


def deliver(delivery_id: str, http: httpx.Client) -> str:
    """Send one delivery if it is still pending; returns what became of it."""
    settings = current_settings()
    engine = get_engine(settings.service_database_url("notify"))
    claimed = store.claim(engine, delivery_id)
    if claimed is None:
        return "skipped"
    delivery, subscription = claimed
    if not subscription.active:
        attempt = DeliveryAttempt(delivery_id=delivery_id, error="subscription disabled")
        store.settle(engine, delivery_id, attempt, store.FAILED)
        return store.FAILED
    result = send_webhook(http, subscription.target, subscription.secret, delivery.id,
                          delivery.payload)
    attempt = DeliveryAttempt(delivery_id=delivery_id, attempted_at=utcnow(),
                              status_code=result.status_code, error=result.error,
                              response_excerpt=result.excerpt, duration_ms=result.duration_ms)
    outcome = after_attempt(result, delivery.attempts + 1, settings.delivery_max_attempts)
    next_at = utcnow() + outcome.delay if outcome.delay else None
    store.settle(engine, delivery_id, attempt, outcome.status, next_at, outcome.disable_reason)
    log.info("delivery %s: %s (HTTP %s)", delivery_id, outcome.status, result.status_code)
    return outcome.status


@celery_app.task(name="notify.deliver", acks_late=True, reject_on_worker_lost=True)
def deliver_task(delivery_id: str) -> str:
    timeout = current_settings().webhook_timeout
    with httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0))) as http:
        return deliver(delivery_id, http)
