"""Notify's queries: deliveries recorded with the feed checkpoint, claimed, settled, deferred,
re-enqueued; digests closed; Slack hooks paced."""

import hashlib
import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine, bindparam, delete, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from services.notify import digest as windows
from services.notify.matching import DEVELOPMENT_DETECTED, alert_body, digest_body, match_reason
from services.notify.models import (
    ALERT,
    COMPLETED,
    DELIVERED,
    DIGEST,
    FAILED,
    INTERRUPTED,
    PENDING,
    REALTIME,
    SENDING,
    STARTED,
    TEST,
    Delivery,
    DeliveryAttempt,
    DigestItem,
    HookPacing,
    Subscriber,
    Subscription,
    checkpoints,
    new_id,
)
from shared.db import utcnow
from shared.logs import bound

log = logging.getLogger("storywire.notify.store")
DISPATCHER = "notify-dispatcher"
CLAIM_SECONDS = 120
STALE_ENQUEUE = timedelta(minutes=5)
INTERRUPTED_ERROR = "interrupted: the send did not finish (its worker stopped)"


def _insert(conn):
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def feed_position(engine: Engine) -> int:
    with engine.connect() as conn:
        return checkpoints.get(conn, DISPATCHER)


def record_deliveries(engine: Engine, events: list[dict], next_after: int,
                      public_url: str) -> int:
    """Turn a page of feed events into delivery rows (realtime subscriptions) or digest items
    (digest subscriptions) and move the checkpoint, atomically. Returns deliveries created."""
    now = utcnow()
    with Session(engine) as session:
        conn = session.connection()
        if checkpoints.get(conn, DISPATCHER) >= next_after:
            return 0  # another dispatcher got here first
        wanted = [e for e in events if e["type"] == DEVELOPMENT_DETECTED]
        subscriptions = session.exec(select(Subscription).where(col(Subscription.active))).all() \
            if wanted else []
        deliveries, digest_items, events_of = [], [], {}
        for event in wanted:
            development_id = event["data"]["development"]["id"]
            events_of[development_id] = event
            for sub in subscriptions:
                reason = match_reason(sub.stories, sub.types, sub.outcomes, event["data"])
                if reason is None:
                    continue
                body = alert_body(event["data"], event["position"], reason, public_url, now)
                if sub.rate != REALTIME:
                    digest_items.append({
                        "subscription_id": sub.id, "development_id": development_id,
                        "event_position": event["position"], "alert": body["data"],
                        "created_at": now})
                    continue
                deliveries.append({
                    "id": new_id("msg"), "subscription_id": sub.id,
                    "development_id": development_id, "kind": ALERT,
                    "event_position": event["position"], "payload": body, "status": PENDING,
                    "attempts": 0, "next_attempt_at": now, "created_at": now})
        insert = _insert(conn)
        if digest_items:
            conn.execute(insert(DigestItem.__table__).on_conflict_do_nothing(), digest_items)
        made = []
        if deliveries:  # many rows a statement; one per (subscription, development) at most
            table = Delivery.__table__
            made = conn.execute(insert(table).on_conflict_do_nothing().returning(
                table.c.id, table.c.development_id), deliveries).all()
        checkpoints.advance(conn, DISPATCHER, next_after)
        session.commit()
    for delivery_id, development_id in made:
        event = events_of[development_id]
        data = event["data"]
        with bound(article_id=data.get("article", {}).get("id"), story=data["story"],
                   event_id=event.get("event_id"), development_id=development_id,
                   delivery_id=delivery_id):
            log.info("delivery created")
    return len(made)


def close_digests(engine: Engine, now: datetime | None = None) -> list[str]:
    """For every digest subscription whose window has closed, one digest delivery holding the
    developments not yet in a digest. An empty window makes nothing. Idempotent: a digest is
    unique per (subscription, window) and takes its items only if no other digest has.
    Returns the new deliveries, marked enqueued: the caller enqueues them."""
    now = now or utcnow()
    created = []
    with Session(engine) as session:
        rows = session.exec(
            select(Subscription, Subscriber)
            .join(Subscriber, col(Subscriber.id) == col(Subscription.subscriber_id), isouter=True)
            .where(col(Subscription.active), col(Subscription.rate) != REALTIME)).all()
    for sub, owner in rows:
        time_zone = owner.time_zone if owner else "UTC"
        start, end = windows.window(sub.rate, sub.digest_time, sub.digest_weekday, time_zone, now)
        delivery_id = _close_digest(engine, sub.id, start, end, now)
        if delivery_id:
            created.append(delivery_id)
    return created


def _close_digest(engine: Engine, subscription_id: str, start: datetime, end: datetime,
                  now: datetime) -> str | None:
    with Session(engine) as session:
        items = session.exec(select(DigestItem).where(
            col(DigestItem.subscription_id) == subscription_id,
            col(DigestItem.delivery_id).is_(None),
            col(DigestItem.created_at) < end)).all()
        if not items:
            return None
        conn = session.connection()
        delivery_id = new_id("msg")
        inserted = conn.execute(_insert(conn)(Delivery.__table__).values(
            id=delivery_id, subscription_id=subscription_id,
            development_id=f"digest:{end.isoformat()}", kind=DIGEST,
            event_position=max(i.event_position for i in items),
            payload=digest_body([i.alert for i in items], start, end, now), status=PENDING,
            attempts=0, next_attempt_at=now, enqueued_at=now, created_at=now,
        ).on_conflict_do_nothing().returning(Delivery.__table__.c.id)).all()
        if not inserted:
            return None  # this window's digest exists already
        taken = session.exec(update(DigestItem).where(
            col(DigestItem.id).in_([i.id for i in items]), col(DigestItem.delivery_id).is_(None))
            .values(delivery_id=delivery_id)).rowcount
        if taken != len(items):  # another digest took some of them meanwhile
            session.rollback()
            return None
        session.commit()
        return delivery_id


def take_due(engine: Engine, limit: int = 500) -> list[str]:
    """Pending deliveries whose time has come and that no live task holds; marks them enqueued.

    Also returns to pending any delivery whose worker died mid-send (claim expired); its
    started attempt is recorded as interrupted.
    """
    now = utcnow()
    with Session(engine) as session:
        lapsed = select(Delivery.id).where(col(Delivery.status) == SENDING,
                                           col(Delivery.claimed_until) < now)
        session.exec(
            update(DeliveryAttempt).where(col(DeliveryAttempt.delivery_id).in_(lapsed),
                                          col(DeliveryAttempt.state) == STARTED)
            .values(state=INTERRUPTED, error=INTERRUPTED_ERROR)
        )
        session.exec(
            update(Delivery).where(col(Delivery.status) == SENDING,
                                   col(Delivery.claimed_until) < now)
            .values(status=PENDING, enqueued_at=None)
        )
        ids = session.exec(
            select(Delivery.id).where(
                col(Delivery.status) == PENDING,
                col(Delivery.next_attempt_at) <= now,
                or_(col(Delivery.enqueued_at).is_(None),
                    col(Delivery.enqueued_at) < now - STALE_ENQUEUE),
            ).order_by(col(Delivery.created_at)).limit(limit)
        ).all()
        if ids:
            session.exec(update(Delivery).where(col(Delivery.id).in_(ids))
                         .values(enqueued_at=now))
        session.commit()
    return list(ids)


def release(engine: Engine, delivery_ids: list[str] | None = None) -> int:
    """Pending deliveries marked enqueued whose task never reached the broker, or was lost
    with it, marked not enqueued: the next pass enqueues them (due ones at once, later ones
    when due). None: every pending delivery marked enqueued. A task that does reach a worker
    after all finds its delivery taken by the other and does nothing."""
    with Session(engine) as session:
        query = update(Delivery).where(col(Delivery.status) == PENDING,
                                       col(Delivery.enqueued_at).is_not(None))
        if delivery_ids is not None:
            query = query.where(col(Delivery.id).in_(delivery_ids))
        released = session.exec(query.values(enqueued_at=None)).rowcount
        session.commit()
        return released


def claim(engine: Engine, delivery_id: str, claim_seconds: int = CLAIM_SECONDS
          ) -> tuple[Delivery, Subscription | None, DeliveryAttempt] | None:
    """Take a pending delivery for sending and record its attempt as started (before the
    send, so a send cut short by a dead worker is in the attempts too); None if it is
    delivered, failed or taken."""
    claimed = claim_many(engine, [delivery_id], claim_seconds)
    return claimed[0] if claimed else None


def claim_many(engine: Engine, delivery_ids: list[str], claim_seconds: int = CLAIM_SECONDS
               ) -> list[tuple[Delivery, Subscription | None, DeliveryAttempt]]:
    """`claim` for many deliveries in one transaction: those still pending, each with its
    subscription and its started attempt."""
    now = utcnow()
    table = Delivery.__table__
    with Session(engine, expire_on_commit=False) as session:
        rows = session.execute(
            update(table).where(table.c.id.in_(delivery_ids), table.c.status == PENDING)
            .values(status=SENDING, claimed_until=now + timedelta(seconds=claim_seconds))
            .returning(*table.c)
        ).mappings().all()
        if not rows:
            session.commit()
            return []
        subscriptions = {sub.id: sub for sub in session.exec(select(Subscription).where(
            col(Subscription.id).in_({row["subscription_id"] for row in rows})))}
        attempts = [DeliveryAttempt(delivery_id=row["id"], attempted_at=now) for row in rows]
        session.add_all(attempts)
        session.commit()
        return [(Delivery(**row), subscriptions.get(row["subscription_id"]), attempt)
                for row, attempt in zip(rows, attempts, strict=True)]


def owner(engine: Engine, subscription: Subscription) -> Subscriber | None:
    with Session(engine) as session:
        return session.get(Subscriber, subscription.subscriber_id) \
            if subscription.subscriber_id else None


def settle(engine: Engine, delivery_id: str, attempt: DeliveryAttempt, status: str,
           next_attempt_at: datetime | None = None, enqueued: bool = False,
           subscription: Subscription | None = None) -> datetime | None:
    """Complete the claimed attempt and record the delivery's new status in one transaction.
    A success clears
    the endpoint's failing streak; a failure starts one (`subscription`: as claimed, to skip
    writes that change nothing). `enqueued`: a countdown task for `next_attempt_at` is on its
    way. Returns since when the endpoint has been failing, if it is."""
    now = utcnow()
    table = Delivery.__table__
    values = {"attempts": table.c.attempts + 1, "status": status, "claimed_until": None,
              "last_status_code": attempt.status_code, "last_error": attempt.error}
    if status == DELIVERED:
        values["delivered_at"] = now
    if status == PENDING:
        values["next_attempt_at"] = next_attempt_at or now
        values["enqueued_at"] = values["next_attempt_at"] if enqueued else None
    failed = status != DELIVERED and (attempt.status_code is None or attempt.status_code >= 300)
    with Session(engine) as session:
        kind, subscription_id = session.execute(
            update(table).where(table.c.id == delivery_id).values(**values)
            .returning(table.c.kind, table.c.subscription_id)).one()
        session.exec(update(DeliveryAttempt).where(col(DeliveryAttempt.id) == attempt.id).values(
            state=COMPLETED, status_code=attempt.status_code, error=attempt.error,
            response_excerpt=attempt.response_excerpt, duration_ms=attempt.duration_ms))
        failing_since = None
        if kind != TEST and failed:
            failing_since = subscription.failing_since if subscription else None
            if failing_since is None:
                session.exec(update(Subscription).where(
                    col(Subscription.id) == subscription_id,
                    col(Subscription.failing_since).is_(None)).values(failing_since=now))
                failing_since = session.get(Subscription, subscription_id).failing_since
        elif kind != TEST and status == DELIVERED and (
                subscription is None or subscription.failing_since is not None):
            session.exec(update(Subscription).where(col(Subscription.id) == subscription_id)
                         .values(failing_since=None))
        session.commit()
        return failing_since


def settle_delivered(engine: Engine, attempts: list[DeliveryAttempt]) -> None:
    """`settle` for many claimed deliveries that were delivered on their attempt, to
    endpoints not failing (nothing to clear), in one transaction."""
    if not attempts:
        return
    now = utcnow()
    deliveries, tried = Delivery.__table__, DeliveryAttempt.__table__
    with Session(engine) as session:
        conn = session.connection()
        conn.execute(update(deliveries).where(deliveries.c.id == bindparam("delivery"))
                     .values(attempts=deliveries.c.attempts + 1, status=DELIVERED,
                             claimed_until=None, last_status_code=bindparam("code"),
                             last_error=None, delivered_at=now),
                     [{"delivery": a.delivery_id, "code": a.status_code} for a in attempts])
        conn.execute(update(tried).where(tried.c.id == bindparam("attempt"))
                     .values(state=COMPLETED, status_code=bindparam("code"), error=None,
                             response_excerpt=bindparam("excerpt"),
                             duration_ms=bindparam("duration")),
                     [{"attempt": a.id, "code": a.status_code, "excerpt": a.response_excerpt,
                       "duration": a.duration_ms} for a in attempts])
        session.commit()


def disable(engine: Engine, subscription_id: str, reason: str) -> bool:
    """Disable an active subscription; False if it was not active."""
    with Session(engine) as session:
        changed = session.exec(update(Subscription).where(
            col(Subscription.id) == subscription_id, col(Subscription.active))
            .values(active=False, disabled_reason=reason[:200])).rowcount
        session.commit()
        return bool(changed)


def defer(engine: Engine, delivery_id: str, attempt_id: int, until: datetime) -> None:
    """Put a claimed delivery back without an attempt (its Slack hook is busy: the started
    attempt goes); a countdown task for `until` is on its way."""
    with Session(engine) as session:
        session.exec(delete(DeliveryAttempt).where(col(DeliveryAttempt.id) == attempt_id))
        session.exec(update(Delivery).where(col(Delivery.id) == delivery_id,
                                            col(Delivery.status) == SENDING)
                     .values(status=PENDING, claimed_until=None, next_attempt_at=until,
                             enqueued_at=until))
        session.commit()


def hook_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def reserve_hook(engine: Engine, url: str, interval: float) -> datetime | None:
    """Take the hook's next send slot: None when it is ours now, else when it frees up."""
    now = utcnow()
    hook = hook_key(url)
    with Session(engine) as session:
        conn = session.connection()
        conn.execute(_insert(conn)(HookPacing.__table__).values(
            hook=hook, next_send_at=now - timedelta(seconds=1)).on_conflict_do_nothing())
        taken = session.exec(update(HookPacing).where(
            col(HookPacing.hook) == hook, col(HookPacing.next_send_at) <= now)
            .values(next_send_at=now + timedelta(seconds=interval))).rowcount
        free_at = None if taken else session.get(HookPacing, hook).next_send_at
        session.commit()
        return free_at


def hold_hook(engine: Engine, url: str, until: datetime) -> None:
    """The hook said 429: nothing goes to it before `until`."""
    with Session(engine) as session:
        session.exec(update(HookPacing).where(col(HookPacing.hook) == hook_key(url),
                                              col(HookPacing.next_send_at) < until)
                     .values(next_send_at=until))
        session.commit()


def redrive(engine: Engine, subscription_id: str | None = None,
            delivery_ids: list[str] | None = None) -> list[str]:
    """Failed deliveries of active subscriptions back to pending with a fresh schedule."""
    now = utcnow()
    with Session(engine) as session:
        query = (select(Delivery.id).join(Subscription,
                                          col(Subscription.id) == col(Delivery.subscription_id))
                 .where(col(Delivery.status) == FAILED, col(Subscription.active)))
        if subscription_id:
            query = query.where(col(Delivery.subscription_id) == subscription_id)
        if delivery_ids is not None:
            query = query.where(col(Delivery.id).in_(delivery_ids))
        ids = list(session.exec(query).all())
        if ids:
            session.exec(update(Delivery).where(col(Delivery.id).in_(ids),
                                                col(Delivery.status) == FAILED)
                         .values(status=PENDING, attempts=0, next_attempt_at=now,
                                 enqueued_at=now))
        session.commit()
        return ids


def add_test_delivery(engine: Engine, subscription_id: str, payload: dict) -> str:
    now = utcnow()
    delivery = Delivery(subscription_id=subscription_id, development_id=f"test:{new_id('t')}",
                        kind=TEST, event_position=0, payload=payload, next_attempt_at=now,
                        enqueued_at=now)
    with Session(engine) as session:
        session.add(delivery)
        session.commit()
        return delivery.id


def subscriber_alerts(engine: Engine, subscriber_id: str, limit: int = 50
                      ) -> list[tuple[datetime, dict]]:
    """A subscriber's alerts, newest first, each development once (realtime and digest)."""
    with Session(engine) as session:
        sub_ids = select(Subscription.id).where(col(Subscription.subscriber_id) == subscriber_id)
        alerts = session.exec(select(Delivery.created_at, Delivery.payload).where(
            col(Delivery.subscription_id).in_(sub_ids), col(Delivery.kind) == ALERT)
            .order_by(col(Delivery.created_at).desc()).limit(limit)).all()
        items = session.exec(select(DigestItem.created_at, DigestItem.alert).where(
            col(DigestItem.subscription_id).in_(sub_ids))
            .order_by(col(DigestItem.created_at).desc()).limit(limit)).all()
    entries, seen = [], set()
    for recorded, alert in sorted([(c, p["data"]) for c, p in alerts] + list(items),
                                  key=lambda e: e[0], reverse=True):
        if alert["development"]["id"] not in seen:
            seen.add(alert["development"]["id"])
            entries.append((recorded, alert))
    return entries[:limit]


def count_by_status(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return dict(session.exec(select(Delivery.status, func.count()).group_by(
            col(Delivery.status))).all())


__all__ = ["DELIVERED", "FAILED", "PENDING", "claim", "close_digests", "feed_position",
           "record_deliveries", "redrive", "settle", "take_due"]
