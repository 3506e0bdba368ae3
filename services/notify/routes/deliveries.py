"""Deliveries: each alert's sending to one subscription, its attempts, redrives; and where
the dispatcher and the failing endpoints stand."""

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import Session, col, select

from services.notify import store
from services.notify.deps import (
    EnqueueDep,
    Reader,
    SessionDep,
    Writer,
    own_delivery,
    own_subscription,
)
from services.notify.dispatcher import hand_over
from services.notify.models import Delivery, DeliveryAttempt, Subscription
from services.notify.policy import attempt_states
from services.notify.routes.subscriptions import subscription_public
from services.notify.schemas import AttemptPublic, DeliveryPublic, Redriven, RedriveRequest
from shared.db import utcnow
from shared.web import AdminKey, EngineDep

router = APIRouter(tags=["deliveries"])


@router.get("/v1/subscriptions/{subscription_id}/deliveries",
            response_model=list[DeliveryPublic])
def read_deliveries(subscription_id: str, session: SessionDep, caller: Reader,
                    status: str | None = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100):
    if caller.subscriber_id is not None:
        own_subscription(session, caller, subscription_id)
    query = (select(Delivery).where(col(Delivery.subscription_id) == subscription_id)
             .order_by(col(Delivery.created_at).desc()).limit(limit))
    if status:
        query = query.where(col(Delivery.status) == status)
    return [r.model_dump() for r in session.exec(query)]


@router.get("/v1/deliveries/{delivery_id}", response_model=DeliveryPublic)
def read_delivery(delivery_id: str, session: SessionDep, caller: Reader):
    return own_delivery(session, caller, delivery_id).model_dump()


@router.get("/v1/deliveries/{delivery_id}/attempts", response_model=list[AttemptPublic])
def read_attempts(delivery_id: str, session: SessionDep, caller: Reader):
    delivery = own_delivery(session, caller, delivery_id)
    rows = session.exec(select(DeliveryAttempt)
                        .where(col(DeliveryAttempt.delivery_id) == delivery_id)
                        .order_by(col(DeliveryAttempt.id))).all()
    states = attempt_states([r.state for r in rows], delivery.status,
                            delivery.claimed_until, utcnow())
    return [{**r.model_dump(), "state": state} for r, state in zip(rows, states, strict=True)]


@router.post("/v1/deliveries/redrive", response_model=Redriven)
def redrive_deliveries(body: RedriveRequest, caller: Writer, engine: EngineDep,
                       enqueue: EnqueueDep):
    """Failed deliveries (of active subscriptions) get a fresh retry schedule; a
    subscriptions key redrives its own subscriber's only."""
    delivery_ids = body.delivery_ids
    if caller.subscriber_id is not None:
        with Session(engine) as session:
            query = (select(Delivery.id)
                     .join(Subscription, col(Subscription.id) == col(Delivery.subscription_id))
                     .where(col(Subscription.subscriber_id) == caller.subscriber_id))
            if delivery_ids is not None:
                query = query.where(col(Delivery.id).in_(delivery_ids))
            delivery_ids = list(session.exec(query).all())
    ids = store.redrive(engine, body.subscription_id, delivery_ids)
    hand_over(engine, ids, enqueue)
    return {"redriven": ids}


@router.get("/v1/status", dependencies=[AdminKey],
            summary="Where the dispatcher is in the story feed, deliveries by status, and "
                    "the endpoints failing or disabled")
def read_status(engine: EngineDep):
    with Session(engine) as session:
        failing = session.exec(select(Subscription).where(
            col(Subscription.failing_since).is_not(None) |
            col(Subscription.disabled_reason).not_in(("paused", "unsubscribed")))
            .order_by(col(Subscription.created_at))).all()
    return {"feed_position": store.feed_position(engine),
            "deliveries": store.count_by_status(engine),
            "failing": [{**subscription_public(s), "failing_since": s.failing_since}
                        for s in failing]}
