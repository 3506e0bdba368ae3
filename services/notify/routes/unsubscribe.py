"""Unsubscribe links (no API key: the signed token is the credential)."""

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from services.notify.deps import LinksDep, SessionDep
from services.notify.messages import templates
from services.notify.models import Subscription
from services.notify.tokens import UNSUBSCRIBE, verify
from shared.problems import Problem

router = APIRouter(tags=["unsubscribe"])


def unsubscribe_target(token: str, session: Session, key: bytes) -> Subscription:
    subscription_id = verify(key, UNSUBSCRIBE, token)
    sub = session.get(Subscription, subscription_id) if subscription_id else None
    if sub is None:
        raise Problem(404, "not-found", "No such subscription")
    return sub


@router.get("/v1/unsubscribe/{token}", response_class=HTMLResponse)
def confirm_unsubscribe(token: str, session: SessionDep, links: LinksDep):
    """A confirmation page only: link scanners fetch GETs."""
    sub = unsubscribe_target(token, session, links.key)
    return templates.get_template("unsubscribe.html").render(name=sub.name, done=False)


@router.post("/v1/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(token: str, session: SessionDep, links: LinksDep):
    """RFC 8058 one-click unsubscribe, and the confirmation page's button."""
    sub = unsubscribe_target(token, session, links.key)
    sub.active = False
    sub.disabled_reason = "unsubscribed"
    session.add(sub)
    session.commit()
    return templates.get_template("unsubscribe.html").render(name=sub.name, done=True)
