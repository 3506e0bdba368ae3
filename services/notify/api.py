"""Notify HTTP API: subscribers, subscriptions, deliveries, unsubscribe links and Atom feeds;
runs the feed dispatcher in the background."""

import asyncio
import base64
import contextlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

import httpx
from fastapi import Depends, Query, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import delete
from sqlmodel import Session, col, select

from services.notify import store
from services.notify.clients import StoryFeedClient
from services.notify.dispatcher import hand_over, run_dispatcher
from services.notify.matching import sample_alert_body
from services.notify.messages import atom_feed, templates
from services.notify.models import (
    Delivery,
    DeliveryAttempt,
    DigestItem,
    Subscriber,
    Subscription,
)
from services.notify.policy import attempt_states
from services.notify.schemas import (
    AlertQueued,
    AttemptPublic,
    DeliveryPublic,
    Redriven,
    RedriveRequest,
    SecretRotated,
    SubscriberCreate,
    SubscriberPublic,
    SubscriberUpdate,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionPublic,
    SubscriptionUpdate,
)
from services.notify.tasks import deliver_now
from services.notify.tokens import FEED, UNSUBSCRIBE, sign, signing_key, verify
from shared import openapi
from shared.db import get_engine, ping, utcnow
from shared.problems import Problem
from shared.settings import Settings, get_settings
from shared.tasks import celery_app
from shared.urlguard import UnsafeURL, check_url
from shared.wakeup import EVENTS, listeners, waiting
from shared.web import Caller, KeyAuth, auth_headers, health_router, make_app

ATOM = "application/atom+xml"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def create_app(settings: Settings | None = None, story_http: httpx.AsyncClient | None = None,
               enqueue: Callable[[list[str]], None] | None = None, run_dispatch_loop: bool = True):
    settings = settings or get_settings()
    engine = get_engine(settings.service_database_url("notify"))
    story_http = story_http or httpx.AsyncClient(base_url=settings.story_url, timeout=10.0)
    story_http.headers.update(auth_headers(settings))
    feed = StoryFeedClient(story_http)
    send_later = enqueue or deliver_now
    key = signing_key(settings)
    base = settings.notify_public_url.rstrip("/")
    # Without a beat process (the embedded default's in-memory broker) the loop closes digests.
    digest_every = 60.0 if settings.broker_url.startswith("memory://") else None

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if not run_dispatch_loop:
            yield
            return
        async with waiting(EVENTS, listeners(EVENTS, broker_url=settings.broker_url),
                           settings.wakeups) as waiter:
            task = asyncio.create_task(run_dispatcher(
                engine, feed, send_later, settings.dispatch_interval, settings.dispatch_batch,
                settings.public_url, digest_every, waiter))
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = make_app("storywire notify", "Subscribers and their alerts.", lifespan)
    app.state.engine = engine
    app.state.feed = feed

    def check_broker() -> None:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)

    app.include_router(health_router({"database": lambda: ping(engine),
                                      "broker": check_broker}))
    auth = KeyAuth(settings)
    app.state.auth = auth
    admin_key = auth.require("admin")
    # a subscriptions key acts for its own subscriber only; its writes are rate-limited
    Reader = Annotated[Caller, auth.require("subscriptions")]
    Writer = Annotated[Caller, auth.require("subscriptions", limit="subscriptions")]

    def session_dep():
        with Session(engine) as session:
            yield session

    SessionDep = Annotated[Session, Depends(session_dep)]

    def found(session: Session, model, id_: str, what: str):
        row = session.get(model, id_)
        if row is None:
            raise Problem(404, "not-found", f"No such {what}", id_)
        return row

    def own(caller: Caller, row, subscriber_id: str | None, what: str, id_: str):
        """The row if the caller may see it; another subscriber's is a 404, not a 403, so
        that a key learns nothing of ids it does not own."""
        if not caller.owns(subscriber_id):
            raise Problem(404, "not-found", f"No such {what}", id_)
        return row

    def own_subscriber(session: Session, caller: Caller, subscriber_id: str) -> Subscriber:
        sbr = found(session, Subscriber, subscriber_id, "subscriber")
        return own(caller, sbr, sbr.id, "subscriber", subscriber_id)

    def own_subscription(session: Session, caller: Caller, subscription_id: str
                         ) -> Subscription:
        sub = found(session, Subscription, subscription_id, "subscription")
        return own(caller, sub, sub.subscriber_id, "subscription", subscription_id)

    def own_delivery(session: Session, caller: Caller, delivery_id: str) -> Delivery:
        delivery = found(session, Delivery, delivery_id, "delivery")
        if caller.subscriber_id is None:
            return delivery
        sub = session.get(Subscription, delivery.subscription_id)
        return own(caller, delivery, sub.subscriber_id if sub else None, "delivery",
                   delivery_id)

    def safe_url(url: str) -> None:
        try:
            check_url(url, settings.allow_private_urls)
        except UnsafeURL as exc:
            raise Problem(422, "unsafe-url", "The URL is not allowed", str(exc)) from exc

    def subscriber_public(sbr: Subscriber) -> dict:
        return {**sbr.model_dump(), "feed_url": f"{base}/v1/feeds/{sign(key, FEED, sbr.id)}"}

    def subscription_public(sub: Subscription) -> dict:
        email = sub.channel == "email"
        fields = sub.model_dump(exclude={"target", "secret", "previous_secret",
                                         "previous_secret_until", "failing_since"})
        return {**fields, "url": None if email else sub.target,
                "email": sub.target if email else None}

    # Subscribers

    @app.post("/v1/subscribers", status_code=201, response_model=SubscriberPublic,
              dependencies=[admin_key], tags=["subscribers"])
    def create_subscriber(body: SubscriberCreate, session: SessionDep):
        sbr = Subscriber(**body.model_dump())
        session.add(sbr)
        session.commit()
        session.refresh(sbr)
        return subscriber_public(sbr)

    @app.get("/v1/subscribers", response_model=list[SubscriberPublic],
             dependencies=[admin_key], tags=["subscribers"])
    def read_subscribers(session: SessionDep):
        rows = session.exec(select(Subscriber).order_by(col(Subscriber.created_at)))
        return [subscriber_public(s) for s in rows]

    @app.get("/v1/subscribers/{subscriber_id}", response_model=SubscriberPublic,
             tags=["subscribers"])
    def read_subscriber(subscriber_id: str, session: SessionDep, caller: Reader):
        return subscriber_public(own_subscriber(session, caller, subscriber_id))

    @app.patch("/v1/subscribers/{subscriber_id}", response_model=SubscriberPublic,
               tags=["subscribers"])
    def update_subscriber(subscriber_id: str, body: SubscriberUpdate, session: SessionDep,
                          caller: Writer):
        sbr = own_subscriber(session, caller, subscriber_id)
        for name, value in body.model_dump(exclude_unset=True).items():
            if value is None and name != "email":
                raise Problem(422, "validation-error", f"{name} cannot be null")
            setattr(sbr, name, value)
        session.add(sbr)
        session.commit()
        session.refresh(sbr)
        return subscriber_public(sbr)

    @app.delete("/v1/subscribers/{subscriber_id}", status_code=204,
                dependencies=[admin_key], tags=["subscribers"])
    def delete_subscriber(subscriber_id: str, session: SessionDep):
        sbr = found(session, Subscriber, subscriber_id, "subscriber")
        owned = select(Subscription.id).where(col(Subscription.subscriber_id) == subscriber_id)
        session.exec(delete(DigestItem).where(col(DigestItem.subscription_id).in_(owned),
                                              col(DigestItem.delivery_id).is_(None)))
        session.exec(delete(Subscription).where(col(Subscription.subscriber_id) ==
                                                subscriber_id))
        session.delete(sbr)
        session.commit()
        return Response(status_code=204)

    @app.get("/v1/subscribers/{subscriber_id}/subscriptions",
             response_model=list[SubscriptionPublic], tags=["subscribers"])
    def read_subscriber_subscriptions(subscriber_id: str, session: SessionDep, caller: Reader):
        own_subscriber(session, caller, subscriber_id)
        return read_subscriptions(session, caller, subscriber_id)

    @app.get("/v1/feeds/{token}", tags=["subscribers"], response_class=Response,
             responses={200: {"content": {ATOM: {}}}})
    def read_feed(token: str):
        subscriber_id = verify(key, FEED, token)
        with Session(engine) as session:
            sbr = session.get(Subscriber, subscriber_id) if subscriber_id else None
        if sbr is None:
            raise Problem(404, "not-found", "No such feed")
        entries = store.subscriber_alerts(engine, sbr.id)
        body = atom_feed(f"urn:storywire:subscriber:{sbr.id}", f"storywire alerts for {sbr.name}",
                         f"{base}/v1/feeds/{token}", entries, utcnow())
        return Response(body, media_type=ATOM)

    # Subscriptions

    @app.post("/v1/subscriptions", status_code=201, response_model=SubscriptionCreated,
              tags=["subscriptions"])
    def create_subscription(body: SubscriptionCreate, session: SessionDep, caller: Writer):
        if body.channel != "email":
            safe_url(body.target)
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

    @app.get("/v1/subscriptions", response_model=list[SubscriptionPublic],
             tags=["subscriptions"])
    def read_subscriptions(session: SessionDep, caller: Reader,
                           subscriber_id: str | None = None):
        query = select(Subscription).order_by(col(Subscription.created_at))
        if caller.subscriber_id is not None:
            query = query.where(col(Subscription.subscriber_id) == caller.subscriber_id)
        if subscriber_id:
            query = query.where(col(Subscription.subscriber_id) == subscriber_id)
        return [subscription_public(s) for s in session.exec(query)]

    @app.get("/v1/subscriptions/{subscription_id}", response_model=SubscriptionPublic,
             tags=["subscriptions"])
    def read_subscription(subscription_id: str, session: SessionDep, caller: Reader):
        return subscription_public(own_subscription(session, caller, subscription_id))

    @app.patch("/v1/subscriptions/{subscription_id}", response_model=SubscriptionPublic,
               tags=["subscriptions"])
    def update_subscription(subscription_id: str, body: SubscriptionUpdate,
                            session: SessionDep, caller: Writer):
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
            safe_url(str(url))
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

    @app.delete("/v1/subscriptions/{subscription_id}", status_code=204,
                tags=["subscriptions"])
    def delete_subscription(subscription_id: str, session: SessionDep, caller: Writer):
        sub = own_subscription(session, caller, subscription_id)
        session.exec(delete(DigestItem).where(col(DigestItem.subscription_id) == sub.id,
                                              col(DigestItem.delivery_id).is_(None)))
        session.delete(sub)
        session.commit()
        return Response(status_code=204)

    @app.post("/v1/subscriptions/{subscription_id}/secret", response_model=SecretRotated,
              tags=["subscriptions"])
    def rotate_secret(subscription_id: str, session: SessionDep, caller: Writer):
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

    @app.post("/v1/subscriptions/{subscription_id}/test", status_code=202,
              response_model=AlertQueued, tags=["subscriptions"])
    def send_test_alert(subscription_id: str, caller: Writer):
        with Session(engine) as session:
            own_subscription(session, caller, subscription_id)
        delivery_id = store.add_test_delivery(engine, subscription_id,
                                              sample_alert_body(settings.public_url, utcnow()))
        hand_over(engine, [delivery_id], send_later)
        return {"delivery_id": delivery_id}

    # Deliveries

    @app.get("/v1/subscriptions/{subscription_id}/deliveries",
             response_model=list[DeliveryPublic], tags=["deliveries"])
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

    @app.get("/v1/deliveries/{delivery_id}", response_model=DeliveryPublic,
             tags=["deliveries"])
    def read_delivery(delivery_id: str, session: SessionDep, caller: Reader):
        return own_delivery(session, caller, delivery_id).model_dump()

    @app.get("/v1/deliveries/{delivery_id}/attempts", response_model=list[AttemptPublic],
             tags=["deliveries"])
    def read_attempts(delivery_id: str, session: SessionDep, caller: Reader):
        delivery = own_delivery(session, caller, delivery_id)
        rows = session.exec(select(DeliveryAttempt)
                            .where(col(DeliveryAttempt.delivery_id) == delivery_id)
                            .order_by(col(DeliveryAttempt.id))).all()
        states = attempt_states([r.state for r in rows], delivery.status,
                                delivery.claimed_until, utcnow())
        return [{**r.model_dump(), "state": state} for r, state in zip(rows, states, strict=True)]

    @app.post("/v1/deliveries/redrive", response_model=Redriven, tags=["deliveries"])
    def redrive_deliveries(body: RedriveRequest, caller: Writer):
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
        hand_over(engine, ids, send_later)
        return {"redriven": ids}

    @app.get("/v1/status", dependencies=[admin_key], tags=["deliveries"],
             summary="Where the dispatcher is in the story feed, deliveries by status, and "
                     "the endpoints failing or disabled")
    def read_status():
        with Session(engine) as session:
            failing = session.exec(select(Subscription).where(
                col(Subscription.failing_since).is_not(None) |
                col(Subscription.disabled_reason).not_in(("paused", "unsubscribed")))
                .order_by(col(Subscription.created_at))).all()
        return {"feed_position": store.feed_position(engine),
                "deliveries": store.count_by_status(engine),
                "failing": [{**subscription_public(s), "failing_since": s.failing_since}
                            for s in failing]}

    # Unsubscribe links (no API key: the signed token is the credential)

    def unsubscribe_target(token: str, session: Session) -> Subscription:
        subscription_id = verify(key, UNSUBSCRIBE, token)
        sub = session.get(Subscription, subscription_id) if subscription_id else None
        if sub is None:
            raise Problem(404, "not-found", "No such subscription")
        return sub

    @app.get("/v1/unsubscribe/{token}", response_class=HTMLResponse, tags=["unsubscribe"])
    def confirm_unsubscribe(token: str, session: SessionDep):
        """A confirmation page only: link scanners fetch GETs."""
        sub = unsubscribe_target(token, session)
        return templates.get_template("unsubscribe.html").render(name=sub.name, done=False)

    @app.post("/v1/unsubscribe/{token}", response_class=HTMLResponse, tags=["unsubscribe"])
    def unsubscribe(token: str, session: SessionDep):
        """RFC 8058 one-click unsubscribe, and the confirmation page's button."""
        sub = unsubscribe_target(token, session)
        sub.active = False
        sub.disabled_reason = "unsubscribed"
        session.add(sub)
        session.commit()
        return templates.get_template("unsubscribe.html").render(name=sub.name, done=True)

    openapi.declare(app, {"rotate_secret": {409: "Only webhook subscriptions have a secret"}})
    return app
