"""What the notify routes depend on beyond shared/web.py, read from the app's state: a
database session, the function that hands deliveries to Celery, the signed links, the checks
of a subscriptions key, and the rows such a key may see."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from services.notify.models import Delivery, Subscriber, Subscription
from shared.problems import Problem
from shared.web import Caller, app_state, require

# a subscriptions key acts for its own subscriber only; its writes are rate-limited
Reader = Annotated[Caller, require("subscriptions")]
Writer = Annotated[Caller, require("subscriptions", limit="subscriptions")]


def request_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(request_session)]
Enqueue = Callable[[list[str]], None]  # hands delivery ids to Celery


EnqueueDep = Annotated[Enqueue, app_state("enqueue")]


@dataclass(frozen=True)
class Links:
    """Links that need no API key: the key their tokens are signed with (services/notify/
    tokens.py) and notify's public URL."""

    key: bytes
    base: str

    def feed_url(self, token: str) -> str:
        return f"{self.base}/v1/feeds/{token}"


LinksDep = Annotated[Links, app_state("links")]


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


def own_subscription(session: Session, caller: Caller, subscription_id: str) -> Subscription:
    sub = found(session, Subscription, subscription_id, "subscription")
    return own(caller, sub, sub.subscriber_id, "subscription", subscription_id)


def own_delivery(session: Session, caller: Caller, delivery_id: str) -> Delivery:
    delivery = found(session, Delivery, delivery_id, "delivery")
    if caller.subscriber_id is None:
        return delivery
    sub = session.get(Subscription, delivery.subscription_id)
    return own(caller, delivery, sub.subscriber_id if sub else None, "delivery", delivery_id)
