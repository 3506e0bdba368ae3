"""The embedded default: all three services in one process.

The apps talk to each other with their normal httpx clients over `httpx.ASGITransport`, share
one SQLite file, and Celery tasks run on an in-process worker thread (in-memory broker).
"""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from services.desk.web import use_clients
from services.ingest.api import create_app as create_ingest_app
from services.notify.api import create_app as create_notify_app
from services.story.api import create_app as create_story_app
from shared.db import get_engine
from shared.migrate import SERVICES, upgrade
from shared.settings import Settings
from shared.tasks import celery_app
from shared.tasks import configure as configure_tasks


def migrate_all(settings: Settings) -> None:
    for service in SERVICES:
        upgrade(service, get_engine(settings.service_database_url(service)))


def asgi_client(app: FastAPI, name: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}",
                             timeout=30.0)


@dataclass
class EmbeddedApps:
    story: FastAPI
    ingest: FastAPI
    notify: FastAPI

    def client(self, name: str) -> httpx.AsyncClient:
        return asgi_client(getattr(self, name), name)


@contextlib.contextmanager
def in_process_worker():
    """A Celery worker thread consuming the in-memory broker of this process."""
    from celery.contrib.testing.worker import start_worker

    with start_worker(celery_app, pool="solo", concurrency=1, perform_ping_check=False,
                      loglevel="WARNING", shutdown_timeout=30):
        yield


@contextlib.asynccontextmanager
async def run_embedded(settings: Settings) -> AsyncIterator[EmbeddedApps]:
    """Migrate, build the three apps wired in-process, run their background loops."""
    migrate_all(settings)
    configure_tasks(settings)
    story = create_story_app(settings)
    ingest = create_ingest_app(settings, story_http=asgi_client(story, "story"))
    notify = create_notify_app(settings, story_http=asgi_client(story, "story"))
    use_clients(story, asgi_client(ingest, "ingest"), asgi_client(notify, "notify"))
    apps = EmbeddedApps(story=story, ingest=ingest, notify=notify)
    with in_process_worker():
        async with contextlib.AsyncExitStack() as stack:
            for app in (story, ingest, notify):
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield apps
