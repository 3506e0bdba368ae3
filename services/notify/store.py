"""Notify's queries: deliveries recorded with the feed checkpoint, claimed, settled, re-enqueued."""

from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from services.notify.matching import DEVELOPMENT_DETECTED, alert_body, match_reason
from services.notify.models import (
    DELIVERED,
    FAILED,
    PENDING,
    SENDING,
    Delivery,
    DeliveryAttempt,
    Subscription,
    checkpoints,
    new_id,
)
from shared.db import utcnow

DISPATCHER = "notify-dispatcher"
CLAIM_SECONDS = 120
STALE_ENQUEUE = timedelta(minutes=5)


def feed_position(engine: Engine) -> int:
    with engine.connect() as conn:
        return checkpoints.get(conn, DISPATCHER)


def record_deliveries(engine: Engine, events: list[dict], next_after: int,
                      public_url: str) -> int:
    """Turn a page of feed events into delivery rows and move the checkpoint, atomically."""
    now = utcnow()
    created = 0
    with Session(engine) as session:
        conn = session.connection()
        if checkpoints.get(conn, DISPATCHER) >= next_after:
            return 0  # another dispatcher got here first
        wanted = [e for e in events if e["type"] == DEVELOPMENT_DETECTED]
        subscriptions = session.exec(select(Subscription).where(col(Subscription.active))).all() \
            if wanted else []
        insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)
        for event in wanted:
            for sub in subscriptions:
                reason = match_reason(sub.stories, sub.types, sub.outcomes, event["data"])
                if reason is None:
                    continue
                body = alert_body(event["data"], event["position"], reason, public_url, now)
                result = conn.execute(
                    insert(Delivery.__table__).values(
                        id=new_id("msg"), subscription_id=sub.id,
                        development_id=event["data"]["development"]["id"],
                        event_position=event["position"], payload=body, status=PENDING,
                        attempts=0, next_attempt_at=now, created_at=now,
                    ).on_conflict_do_nothing().returning(Delivery.__table__.c.id)
                )
                created += len(result.all())
        checkpoints.advance(conn, DISPATCHER, next_after)
        session.commit()
    return created


def take_due(engine: Engine, limit: int = 500) -> list[str]:
    """Pending deliveries whose time has come and that no live task holds; marks them enqueued.

    Also returns to pending any delivery whose worker died mid-send (claim expired).
    """
    now = utcnow()
    with Session(engine) as session:
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


def claim(engine: Engine, delivery_id: str) -> tuple[Delivery, Subscription] | None:
    """Take a pending delivery for sending; None if it is delivered, failed or taken."""
    now = utcnow()
    with Session(engine) as session:
        claimed = session.exec(
            update(Delivery).where(and_(col(Delivery.id) == delivery_id,
                                        col(Delivery.status) == PENDING))
            .values(status=SENDING, claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
        ).rowcount
        session.commit()
        if not claimed:
            return None
        delivery = session.get(Delivery, delivery_id)
        return delivery, session.get(Subscription, delivery.subscription_id)


def settle(engine: Engine, delivery_id: str, attempt: DeliveryAttempt, status: str,
           next_attempt_at: datetime | None = None, disable_reason: str | None = None) -> None:
    """Record an attempt and the delivery's new status in one transaction."""
    now = utcnow()
    with Session(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.attempts += 1
        delivery.status = status
        delivery.claimed_until = None
        delivery.last_status_code = attempt.status_code
        delivery.last_error = attempt.error
        if status == DELIVERED:
            delivery.delivered_at = now
        if status == PENDING:
            delivery.next_attempt_at = next_attempt_at or now
            delivery.enqueued_at = None
        session.add(delivery)
        session.add(attempt)
        if disable_reason:
            sub = session.get(Subscription, delivery.subscription_id)
            sub.active = False
            sub.disabled_reason = disable_reason
            session.add(sub)
        session.commit()


__all__ = ["DELIVERED", "FAILED", "PENDING", "claim", "feed_position", "record_deliveries",
           "settle", "take_due"]
