"""Subscribers: who is alerted, their subscriptions, and their Atom feed of alerts."""

from fastapi import APIRouter, Response
from sqlalchemy import delete
from sqlmodel import Session, col, select

from services.notify import store
from services.notify.deps import (
    Links,
    LinksDep,
    Reader,
    SessionDep,
    Writer,
    found,
    own_subscriber,
)
from services.notify.messages import atom_feed
from services.notify.models import DigestItem, Subscriber, Subscription
from services.notify.routes.subscriptions import read_subscriptions
from services.notify.schemas import (
    SubscriberCreate,
    SubscriberPublic,
    SubscriberUpdate,
    SubscriptionPublic,
)
from services.notify.tokens import FEED, sign, verify
from shared.db import utcnow
from shared.problems import Problem
from shared.web import AdminKey, EngineDep

router = APIRouter(tags=["subscribers"])
ATOM = "application/atom+xml"


def subscriber_public(sbr: Subscriber, links: Links) -> dict:
    return {**sbr.model_dump(), "feed_url": links.feed_url(sign(links.key, FEED, sbr.id))}


@router.post("/v1/subscribers", status_code=201, response_model=SubscriberPublic,
             dependencies=[AdminKey])
def create_subscriber(body: SubscriberCreate, session: SessionDep, links: LinksDep):
    sbr = Subscriber(**body.model_dump())
    session.add(sbr)
    session.commit()
    session.refresh(sbr)
    return subscriber_public(sbr, links)


@router.get("/v1/subscribers", response_model=list[SubscriberPublic], dependencies=[AdminKey])
def read_subscribers(session: SessionDep, links: LinksDep):
    rows = session.exec(select(Subscriber).order_by(col(Subscriber.created_at)))
    return [subscriber_public(s, links) for s in rows]


@router.get("/v1/subscribers/{subscriber_id}", response_model=SubscriberPublic)
def read_subscriber(subscriber_id: str, session: SessionDep, caller: Reader, links: LinksDep):
    return subscriber_public(own_subscriber(session, caller, subscriber_id), links)


@router.patch("/v1/subscribers/{subscriber_id}", response_model=SubscriberPublic)
def update_subscriber(subscriber_id: str, body: SubscriberUpdate, session: SessionDep,
                      caller: Writer, links: LinksDep):
    sbr = own_subscriber(session, caller, subscriber_id)
    for name, value in body.model_dump(exclude_unset=True).items():
        if value is None and name != "email":
            raise Problem(422, "validation-error", f"{name} cannot be null")
        setattr(sbr, name, value)
    session.add(sbr)
    session.commit()
    session.refresh(sbr)
    return subscriber_public(sbr, links)


@router.delete("/v1/subscribers/{subscriber_id}", status_code=204, dependencies=[AdminKey])
def delete_subscriber(subscriber_id: str, session: SessionDep):
    sbr = found(session, Subscriber, subscriber_id, "subscriber")
    owned = select(Subscription.id).where(col(Subscription.subscriber_id) == subscriber_id)
    session.exec(delete(DigestItem).where(col(DigestItem.subscription_id).in_(owned),
                                          col(DigestItem.delivery_id).is_(None)))
    session.exec(delete(Subscription).where(col(Subscription.subscriber_id) == subscriber_id))
    session.delete(sbr)
    session.commit()
    return Response(status_code=204)


@router.get("/v1/subscribers/{subscriber_id}/subscriptions",
            response_model=list[SubscriptionPublic])
def read_subscriber_subscriptions(subscriber_id: str, session: SessionDep, caller: Reader):
    own_subscriber(session, caller, subscriber_id)
    return read_subscriptions(session, caller, subscriber_id)


@router.get("/v1/feeds/{token}", response_class=Response,
            responses={200: {"content": {ATOM: {}}}})
def read_feed(token: str, engine: EngineDep, links: LinksDep):
    subscriber_id = verify(links.key, FEED, token)
    with Session(engine) as session:
        sbr = session.get(Subscriber, subscriber_id) if subscriber_id else None
    if sbr is None:
        raise Problem(404, "not-found", "No such feed")
    entries = store.subscriber_alerts(engine, sbr.id)
    body = atom_feed(f"urn:storywire:subscriber:{sbr.id}", f"storywire alerts for {sbr.name}",
                     links.feed_url(token), entries, utcnow())
    return Response(body, media_type=ATOM)
