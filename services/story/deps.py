"""What the story routes depend on, read from the app's state (shared/web.py has the rest)."""

from typing import Annotated

from fastapi import Depends, Request

from services.story.reads import Reads, variant_of
from services.story.service import StoryService
from shared.eventstore import EventStore
from shared.wakeup import Publisher
from shared.web import require

ReadKey = require("read")


async def app_service(request: Request) -> StoryService:
    return request.app.state.service


async def app_store(request: Request) -> EventStore:
    return request.app.state.store


async def app_followers(request: Request) -> Publisher:
    """Wakes the feed's followers (notify's dispatcher) once articles are attached."""
    return request.app.state.followers


ServiceDep = Annotated[StoryService, Depends(app_service)]
StoreDep = Annotated[EventStore, Depends(app_store)]
FollowersDep = Annotated[Publisher, Depends(app_followers)]


async def request_reads(request: Request, service: ServiceDep) -> Reads:
    return Reads(service, request.app.state.bodies, variant_of(request))


ReadsDep = Annotated[Reads, Depends(request_reads)]
