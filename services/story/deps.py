"""What the story routes depend on, read from the app's state (shared/web.py has the rest)."""

from typing import Annotated

from fastapi import Depends, Request

from services.story.reads import Reads, variant_of
from services.story.service import StoryService
from shared.eventstore import EventStore
from shared.wakeup import Publisher
from shared.web import app_state, require

ReadKey = require("read")


ServiceDep = Annotated[StoryService, app_state("service")]
StoreDep = Annotated[EventStore, app_state("store")]
# wakes the feed's followers (notify's dispatcher) once articles are attached
FollowersDep = Annotated[Publisher, app_state("followers")]


async def request_reads(request: Request, service: ServiceDep) -> Reads:
    return Reads(service, request.app.state.bodies, variant_of(request))


ReadsDep = Annotated[Reads, Depends(request_reads)]
