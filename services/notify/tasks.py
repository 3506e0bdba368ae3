"""Notify's Celery tasks: thin functions that take ids and re-read rows."""

import asyncio
import itertools
import logging
import os
import threading
import time
from datetime import timedelta

import httpx
from celery import bootsteps
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from services.notify import store
from services.notify.channels import (
    SendResult,
    send_email,
    send_slack,
    send_webhook,
    send_webhook_async,
)
from services.notify.dispatcher import hand_over
from services.notify.matching import alert_ids
from services.notify.messages import email_message, notice_message, slack_message
from services.notify.models import DELIVERED, PENDING, TEST, Delivery, Subscription
from services.notify.policy import after_attempt, failing_too_long, signing_secrets, use_countdown
from services.notify.tokens import UNSUBSCRIBE, sign, signing_key
from shared.db import get_engine, utcnow
from shared.logs import bound
from shared.settings import Settings
from shared.tasks import NOTIFY_QUEUE, celery_app, current_settings
from shared.urlguard import UnsafeURL, check_url, guarded_async_transport, guarded_transport

log = logging.getLogger("storywire.notify.tasks")

_http: tuple[int, httpx.Client] | None = None


_loop: tuple[int, asyncio.AbstractEventLoop, httpx.AsyncClient] | None = None


def event_loop() -> asyncio.AbstractEventLoop:
    """One event loop per worker process for concurrent sends, kept between tasks so that
    its client's connections stay open."""
    global _loop
    if _loop is None or _loop[0] != os.getpid():
        settings = current_settings()
        timeout = settings.webhook_timeout
        loop = asyncio.new_event_loop()
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
        _loop = (os.getpid(), loop, httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)), follow_redirects=False,
            transport=guarded_async_transport(settings.allow_private_urls, limits)))
    return _loop[1]


def async_http_client() -> httpx.AsyncClient:
    event_loop()
    return _loop[2]


def http_client() -> httpx.Client:
    """One HTTP client per worker process (made after the pool forks)."""
    global _http
    if _http is None or _http[0] != os.getpid():
        settings = current_settings()
        timeout = settings.webhook_timeout
        _http = (os.getpid(), httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)), follow_redirects=False,
            transport=guarded_transport(settings.allow_private_urls)))
    return _http[1]


def unsubscribe_url(settings: Settings, subscription_id: str) -> str:
    token = sign(signing_key(settings), UNSUBSCRIBE, subscription_id)
    return f"{settings.notify_public_url.rstrip('/')}/v1/unsubscribe/{token}"


def unsafe_target(url: str, allow_private: bool) -> SendResult | None:
    """The result of a send to a URL we will not send to, or None to send."""
    try:
        check_url(url, allow_private)
    except UnsafeURL as exc:
        return SendResult(None, f"refused: {exc}"[:500], "", 0)
    return None


def send(settings: Settings, http: httpx.Client, delivery: Delivery,
         sub: Subscription) -> SendResult:
    """One attempt over the subscription's channel."""
    if sub.channel == "email":
        message = email_message(delivery.payload, settings.smtp_from, sub.target,
                                unsubscribe_url(settings, sub.id), delivery.id)
        return send_email(settings, message)
    if refused := unsafe_target(sub.target, settings.allow_private_urls):
        return refused
    if sub.channel == "slack":
        return send_slack(http, sub.target, slack_message(delivery.payload))
    secrets = signing_secrets(sub.secret, sub.previous_secret, sub.previous_secret_until,
                              utcnow())
    return send_webhook(http, sub.target, secrets, delivery.id, delivery.payload)


def tell_owner(engine: Engine, settings: Settings, sub: Subscription, reason: str) -> None:
    """Email the subscriber that its endpoint was disabled, where it has an address."""
    owner = store.owner(engine, sub)
    if owner is None or not owner.email:
        return
    result = send_email(settings, notice_message(settings.smtp_from, owner.email, sub.name,
                                                 sub.target, reason))
    if not result.ok:
        log.warning("could not tell %s that %s is disabled: %s", owner.id, sub.id, result.error)


def deliver(delivery_id: str, http: httpx.Client,
            schedule=lambda delivery_id, seconds: None) -> str:
    """Send one delivery if it is still pending; returns what became of it.

    `schedule(delivery_id, seconds)` enqueues a later attempt (a Celery countdown)."""
    settings = current_settings()
    engine = get_engine(settings.service_database_url("notify"))
    claimed = store.claim(engine, delivery_id, settings.delivery_claim_seconds)
    if claimed is None:
        return "skipped"
    delivery, sub, attempt = claimed
    with bound(delivery_id=delivery_id, **alert_ids(delivery.payload)):
        return attempt_delivery(settings, engine, http, schedule, delivery, sub, attempt)


def attempt_delivery(settings: Settings, engine: Engine, http: httpx.Client, schedule,
                     delivery: Delivery, sub: Subscription | None, attempt) -> str:
    """One attempt at a claimed delivery, settled in the database; what became of it."""
    delivery_id = delivery.id
    if refused := unsendable(engine, delivery, sub, attempt):
        return refused
    if sub.channel == "slack":
        free_at = store.reserve_hook(engine, sub.target, settings.slack_interval)
        if free_at is not None:
            store.defer(engine, delivery_id, attempt.id, free_at)
            wait = max(0.0, (free_at - utcnow()).total_seconds())
            hand_over(engine, [delivery_id], lambda ids: schedule(ids[0], wait))
            return "deferred"
    result = send(settings, http, delivery, sub)
    return conclude(settings, engine, schedule, delivery, sub, attempt, result)


def unsendable(engine: Engine, delivery: Delivery, sub: Subscription | None, attempt
               ) -> str | None:
    """A claimed delivery whose subscription is gone or disabled fails unsent."""
    if sub is None or (not sub.active and delivery.kind != TEST):
        attempt.error = "subscription deleted" if sub is None else "subscription disabled"
        store.settle(engine, delivery.id, attempt, store.FAILED)
        return store.FAILED
    return None


def record_result(attempt, result: SendResult) -> None:
    attempt.status_code, attempt.error = result.status_code, result.error
    attempt.response_excerpt, attempt.duration_ms = result.excerpt, result.duration_ms


def conclude(settings: Settings, engine: Engine, schedule, delivery: Delivery,
             sub: Subscription, attempt, result: SendResult) -> str:
    """Settle an attempt by its result: delivered, retried (a countdown task, or held in the
    database for the sweep) or failed; an endpoint failing for good is disabled."""
    delivery_id = delivery.id
    now = utcnow()
    if sub.channel == "slack" and result.status_code == 429 and result.retry_after:
        store.hold_hook(engine, sub.target, now + timedelta(seconds=result.retry_after))
    record_result(attempt, result)
    outcome = after_attempt(result, delivery.attempts + 1, settings.delivery_max_attempts)
    countdown = outcome.status == PENDING and use_countdown(outcome.delay)
    failing_since = store.settle(engine, delivery_id, attempt, outcome.status,
                                 now + outcome.delay if outcome.delay else None, countdown, sub)
    if countdown:
        hand_over(engine, [delivery_id],
                  lambda ids: schedule(ids[0], outcome.delay.total_seconds()))
    reason = outcome.disable_reason or failing_too_long(failing_since, now,
                                                        settings.disable_after_hours)
    if reason and delivery.kind != TEST and store.disable(engine, sub.id, reason):
        log.warning("subscription %s disabled: %s", sub.id, reason)
        tell_owner(engine, settings, sub, reason)
    log.info("delivery %s: %s (%s)", delivery_id, outcome.status,
             result.status_code or result.error)
    return outcome.status


def deliver_many(delivery_ids: list[str], http: httpx.Client,
                 schedule=lambda delivery_id, seconds: None) -> dict[str, str]:
    """`deliver` for many deliveries at once: claimed in one transaction, their webhooks sent
    concurrently (at most WEBHOOK_CONCURRENCY at a time to one endpoint, over kept-alive
    connections), the delivered ones settled in one transaction and the others one by one as
    `deliver` settles them. Email and Slack go one after the other, as `deliver` sends them.
    What became of each."""
    settings = current_settings()
    engine = get_engine(settings.service_database_url("notify"))
    outcomes, webhooks = {}, []
    for delivery, sub, attempt in store.claim_many(engine, delivery_ids,
                                                   settings.delivery_claim_seconds):
        if sub is not None and sub.channel == "webhook" and (sub.active or delivery.kind == TEST):
            webhooks.append((delivery, sub, attempt))
            continue
        with bound(delivery_id=delivery.id, **alert_ids(delivery.payload)):
            outcomes[delivery.id] = attempt_delivery(settings, engine, http, schedule, delivery,
                                                     sub, attempt)
    results = event_loop().run_until_complete(send_webhooks(settings, webhooks))
    delivered = []
    for (delivery, sub, attempt), result in zip(webhooks, results, strict=True):
        if result.ok and sub.failing_since is None:   # nothing to decide: settled together
            record_result(attempt, result)
            delivered.append((delivery, attempt))
            continue
        with bound(delivery_id=delivery.id, **alert_ids(delivery.payload)):
            outcomes[delivery.id] = conclude(settings, engine, schedule, delivery, sub, attempt,
                                             result)
    store.settle_delivered(engine, [attempt for _, attempt in delivered])
    for delivery, attempt in delivered:
        outcomes[delivery.id] = DELIVERED
        with bound(delivery_id=delivery.id, **alert_ids(delivery.payload)):
            log.info("delivery %s: %s (%s)", delivery.id, DELIVERED, attempt.status_code)
    return outcomes


async def send_webhooks(settings: Settings, claimed: list) -> list[SendResult]:
    """Every claimed webhook sent at once, at most WEBHOOK_CONCURRENCY at a time to one
    endpoint; a result each, in order."""
    http = async_http_client()
    gates: dict[str, asyncio.Semaphore] = {}
    refused: dict[str, SendResult | None] = {}  # each endpoint checked once
    now = utcnow()

    async def one(delivery: Delivery, sub: Subscription) -> SendResult:
        if sub.target not in refused:
            refused[sub.target] = await asyncio.to_thread(unsafe_target, sub.target,
                                                          settings.allow_private_urls)
        if refused[sub.target]:
            return refused[sub.target]
        gate = gates.setdefault(sub.target, asyncio.Semaphore(settings.webhook_concurrency))
        secrets = signing_secrets(sub.secret, sub.previous_secret, sub.previous_secret_until,
                                  now)
        async with gate:
            return await send_webhook_async(http, sub.target, secrets, delivery.id,
                                            delivery.payload)

    return await asyncio.gather(*(one(delivery, sub) for delivery, sub, _ in claimed))


def enqueue(delivery_id: str, seconds: float = 0) -> None:
    deliver_task.apply_async((delivery_id,), countdown=seconds or None)


def deliver_now(delivery_ids: list[str]) -> None:
    """One task for a group of deliveries (see `hand_over`)."""
    deliver_task.apply_async(tuple(delivery_ids))


# The database away (restarting, unreachable): the task tries again, backing off up to a
# minute, for as long as it takes. Its delivery is marked enqueued, so nothing else would send
# it before the stale-enqueue rule; a send it cut short is the sweep's once its claim lapses.
@celery_app.task(name="notify.deliver", acks_late=True, reject_on_worker_lost=True,
                 autoretry_for=(OperationalError,), max_retries=None, retry_backoff=1,
                 retry_backoff_max=60)
def deliver_task(*delivery_ids: str) -> str | dict[str, str]:
    if len(delivery_ids) == 1:
        return deliver(delivery_ids[0], http_client(), schedule=enqueue)
    return deliver_many(list(delivery_ids), http_client(), schedule=enqueue)


@celery_app.task(name="notify.sweep")
def sweep_task() -> int:
    """Re-enqueue what is due: long retries held in the database, sends cut short by a dead
    worker (expired claims), tasks lost by the broker."""
    engine = get_engine(current_settings().service_database_url("notify"))
    total = 0
    while True:
        ids = store.take_due(engine)
        handed = hand_over(engine, ids, deliver_now)
        total += handed
        if len(ids) < 500 or handed < len(ids):
            return total


@celery_app.task(name="notify.digests")
def digests_task() -> int:
    engine = get_engine(current_settings().service_database_url("notify"))
    return hand_over(engine, store.close_digests(engine), deliver_now)


class ReleaseOnConnect(bootsteps.StartStopStep):
    """Each time a notify worker (re)connects to the broker: the tasks it held when the
    connection dropped are gone (reserved and countdown tasks are dropped with the connection),
    and a broker restarted without persistence has lost its queue too. Every pending delivery
    marked enqueued is marked not enqueued again; the dispatcher's next pass enqueues it
    (due ones within seconds, countdown retries when due). A task that survived finds its
    delivery taken by the duplicate, or the duplicate finds it taken, and does nothing."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, c):
        if NOTIFY_QUEUE not in c.app.amqp.queues.consume_from:
            return
        if not release_enqueued():  # the database is down too: again until it answers
            threading.Thread(target=release_enqueued, args=(RELEASE_RETRY,), daemon=True,
                             name="release-enqueued").start()


RELEASE_RETRY = (1, 2, 4, 8, 15, 30)  # seconds between tries, the last repeated


def release_enqueued(waits: tuple[float, ...] = ()) -> bool:
    """Release every pending delivery marked enqueued; with `waits`, try again after each
    failure (the last wait repeated) until it succeeds. Whether it did."""
    for attempt in itertools.count():
        try:
            released = store.release(get_engine(
                current_settings().service_database_url("notify")))
        except Exception:  # noqa: BLE001 - the database away, however it shows
            log.exception("could not release deliveries enqueued before the connection")
            if not waits:
                return False
            time.sleep(waits[min(attempt, len(waits) - 1)])
            continue
        if released:
            log.info("%d deliveries enqueued before this connection go out again", released)
        return True
    return False


celery_app.steps["consumer"].add(ReleaseOnConnect)

__all__ = ["DELIVERED", "deliver", "deliver_many", "deliver_task", "digests_task",
           "sweep_task"]
