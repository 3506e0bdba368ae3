"""Notify HTTP API: subscriptions and deliveries; runs the feed dispatcher in the background."""

import asyncio
import base64
import contextlib
import secrets
from collections.abc import Callable

import httpx
from sqlmodel import Session, col, select

from services.notify.clients import StoryFeedClient
from services.notify.dispatcher import run_dispatcher
from services.notify.models import Delivery, Subscription
from services.notify.schemas import (
    DeliveryPublic,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionPublic,
)
from services.notify.tasks import celery_app, deliver_task
from shared.db import get_engine, ping
from shared.problems import Problem
from shared.settings import Settings, get_settings
from shared.web import api_key_dependency, auth_headers, health_router, make_app


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _public(sub: Subscription) -> dict:
    return {"id": sub.id, "name": sub.name, "channel": sub.channel, "url": sub.target,
            "stories": sub.stories, "types": sub.types, "outcomes": sub.outcomes,
            "active": sub.active, "disabled_reason": sub.disabled_reason,
            "created_at": sub.created_at}


def create_app(settings: Settings | None = None, story_http: httpx.AsyncClient | None = None,
               enqueue: Callable[[str], None] | None = None, run_dispatch_loop: bool = True):
    settings = settings or get_settings()
    engine = get_engine(settings.service_database_url("notify"))
    story_http = story_http or httpx.AsyncClient(base_url=settings.story_url, timeout=10.0)
    story_http.headers.update(auth_headers(settings))
    feed = StoryFeedClient(story_http)
    enqueue = enqueue or (lambda delivery_id: deliver_task.delay(delivery_id))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        task = None
        if run_dispatch_loop:
            task = asyncio.create_task(run_dispatcher(
                engine, feed, enqueue, settings.dispatch_interval, settings.dispatch_batch,
                settings.public_url))
        yield
        if task:
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
    require_key = api_key_dependency(settings)

    @app.post("/v1/subscriptions", status_code=201, response_model=SubscriptionCreated,
              dependencies=[require_key], tags=["subscriptions"])
    def create_subscription(body: SubscriptionCreate):
        sub = Subscription(name=body.name, channel=body.channel, target=str(body.url),
                           secret=new_secret(), stories=body.stories, types=list(body.types),
                           outcomes=body.outcomes)
        with Session(engine) as session:
            session.add(sub)
            session.commit()
            session.refresh(sub)
            return {**_public(sub), "secret": sub.secret}

    @app.get("/v1/subscriptions", response_model=list[SubscriptionPublic],
             dependencies=[require_key], tags=["subscriptions"])
    def read_subscriptions():
        with Session(engine) as session:
            subs = session.exec(select(Subscription).order_by(col(Subscription.created_at)))
            return [_public(s) for s in subs]

    @app.get("/v1/subscriptions/{subscription_id}", response_model=SubscriptionPublic,
             dependencies=[require_key], tags=["subscriptions"])
    def read_subscription(subscription_id: str):
        with Session(engine) as session:
            sub = session.get(Subscription, subscription_id)
            if sub is None:
                raise Problem(404, "not-found", "No such subscription", subscription_id)
            return _public(sub)

    @app.get("/v1/subscriptions/{subscription_id}/deliveries",
             response_model=list[DeliveryPublic], dependencies=[require_key],
             tags=["deliveries"])
    def read_deliveries(subscription_id: str):
        with Session(engine) as session:
            rows = session.exec(select(Delivery)
                                .where(Delivery.subscription_id == subscription_id)
                                .order_by(col(Delivery.created_at)))
            return [r.model_dump() for r in rows]

    return app
