"""Subscriptions: what a subscriber is alerted of, and where (webhook, Slack, email)."""

from datetime import timedelta

from fastapi import APIRouter, Response
from sqlalchemy import delete
from sqlmodel import Session, col, select

from services.notify import store
from services.notify.channels import new_secret
from services.notify.deps import (
    EnqueueDep,
    Reader,
    SessionDep,
    Writer,
    own_subscription,
)
from services.notify.dispatcher import hand_over
from services.notify.matching import sample_alert_body
from services.notify.models import DigestItem, Subscriber, Subscription
from services.notify.schemas import (
    AlertQueued,
    SecretRotated,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionPublic,
    SubscriptionUpdate,
)
from shared import openapi
from shared.db import utcnow
from shared.problems import Problem
from shared.settings import Settings
from shared.urlguard import UnsafeURL, check_url
from shared.web import EngineDep, SettingsDep

router = APIRouter(tags=["subscriptions"])


def safe_url(url: str, settings: Settings) -> None:
    try:
        check_url(url, settings.allow_private_urls)
    except UnsafeURL as exc:
        raise Problem(422, "unsafe-url", "The URL is not allowed", str(exc)) from exc


def subscription_public(sub: Subscription) -> dict:
    email = sub.channel == "email"
    fields = sub.model_dump(exclude={"target", "secret", "previous_secret",
                                     "previous_secret_until", "failing_since"})
    return {**fields, "url": None if email else sub.target,
            "email": sub.target if email else None}


@router.post("/v1/subscriptions", status_code=201, response_model=SubscriptionCreated)
def create_subscription(body: SubscriptionCreate, session: SessionDep, caller: Writer,
                        settings: SettingsDep):
    if body.channel != "email":
        safe_url(body.target, settings)
    if caller.subscriber_id is not None:  # a subscriptions key subscribes its subscriber
        if body.subscriber_id not in (None, caller.subscriber_id):
            raise Problem(422, "unknown-subscriber", "No such subscriber",
                          body.subscriber_id)
        owner = session.get(Subscriber, caller.subscriber_id)
        if owner is None:
            raise Problem(422, "unknown-subscriber", "No such subscriber",
                          caller.subscriber_id)
    elif body.subscriber_id is None:
        owner = Subscriber(name=body.name)
        session.add(owner)
    else:
        owner = session.get(Subscriber, body.subscriber_id)
        if owner is None:
            raise Problem(422, "unknown-subscriber", "No such subscriber",
                          body.subscriber_id)
    sub = Subscription(**body.model_dump(exclude={"subscriber_id", "url", "email"}),
                       subscriber_id=owner.id, target=body.target,
                       secret=new_secret() if body.channel == "webhook" else None)
    session.add(sub)
    session.commit()
    session.refresh(sub)
    return {**subscription_public(sub), "secret": sub.secret}


@router.get("/v1/subscriptions", response_model=list[SubscriptionPublic])
def read_subscriptions(session: SessionDep, caller: Reader, subscriber_id: str | None = None):
    query = select(Subscription).order_by(col(Subscription.created_at))
    if caller.subscriber_id is not None:
        query = query.where(col(Subscription.subscriber_id) == caller.subscriber_id)
    if subscriber_id:
        query = query.where(col(Subscription.subscriber_id) == subscriber_id)
    return [subscription_public(s) for s in session.exec(query)]


@router.get("/v1/subscriptions/{subscription_id}", response_model=SubscriptionPublic)
def read_subscription(subscription_id: str, session: SessionDep, caller: Reader):
    return subscription_public(own_subscription(session, caller, subscription_id))


@router.patch("/v1/subscriptions/{subscription_id}", response_model=SubscriptionPublic)
def update_subscription(subscription_id: str, body: SubscriptionUpdate, session: SessionDep,
                        caller: Writer, settings: SettingsDep):
    sub = own_subscription(session, caller, subscription_id)
    changes = body.model_dump(exclude_unset=True)
    if any(v is None for v in changes.values()):
        raise Problem(422, "validation-error", "Fields cannot be set to null",
                      ", ".join(k for k, v in changes.items() if v is None))
    url, email = changes.pop("url", None), changes.pop("email", None)
    if (url and sub.channel == "email") or (email and sub.channel != "email"):
        raise Problem(422, "wrong-channel", "That target does not fit the channel",
                      f"a {sub.channel} subscription takes "
                      f"{'email' if sub.channel == 'email' else 'url'}")
    if url:
        safe_url(str(url), settings)
        sub.target = str(url)
    if email:
        sub.target = email
    if changes.get("active"):
        sub.disabled_reason = None
        sub.failing_since = None
    elif changes.get("active") is False:
        sub.disabled_reason = "paused"
    for name, value in changes.items():
        setattr(sub, name, value)
    session.add(sub)
    session.commit()
    session.refresh(sub)
    return subscription_public(sub)


@router.delete("/v1/subscriptions/{subscription_id}", status_code=204)
def delete_subscription(subscription_id: str, session: SessionDep, caller: Writer):
    sub = own_subscription(session, caller, subscription_id)
    session.exec(delete(DigestItem).where(col(DigestItem.subscription_id) == sub.id,
                                          col(DigestItem.delivery_id).is_(None)))
    session.delete(sub)
    session.commit()
    return Response(status_code=204)


@router.post("/v1/subscriptions/{subscription_id}/secret", response_model=SecretRotated)
def rotate_secret(subscription_id: str, session: SessionDep, caller: Writer,
                  settings: SettingsDep):
    """A new signing secret; the previous one keeps signing until the grace period ends."""
    sub = own_subscription(session, caller, subscription_id)
    if sub.channel != "webhook":
        raise Problem(409, "no-secret", "Only webhook subscriptions have a secret")
    until = utcnow() + timedelta(hours=settings.secret_grace_hours)
    sub.previous_secret, sub.previous_secret_until = sub.secret, until
    sub.secret = new_secret()
    session.add(sub)
    session.commit()
    return {"secret": sub.secret, "previous_valid_until": until}


@router.post("/v1/subscriptions/{subscription_id}/test", status_code=202,
             response_model=AlertQueued)
def send_test_alert(subscription_id: str, caller: Writer, engine: EngineDep,
                    settings: SettingsDep, enqueue: EnqueueDep):
    with Session(engine) as session:
        own_subscription(session, caller, subscription_id)
    delivery_id = store.add_test_delivery(engine, subscription_id,
                                          sample_alert_body(settings.public_url, utcnow()))
    hand_over(engine, [delivery_id], enqueue)
    return {"delivery_id": delivery_id}


openapi.declare(router, {"rotate_secret": {409: "Only webhook subscriptions have a secret"}})
