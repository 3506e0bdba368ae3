"""Answering reads of a story: JSON with an ETag (rendered once per tag and kept), a 304 when
the client has that version already, and pages that read the story at one version."""

import asyncio
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated

import orjson
from fastapi import Header, Request, Response

from services.story import paging, stories
from services.story.paging import BadCursor
from services.story.service import StoryService
from shared.problems import Problem

BODY_CACHE = 256
IfNoneMatch = Annotated[str | None, Header()]


class Bodies:
    """Rendered JSON bodies by ETag, the `size` most recently used."""

    def __init__(self, size: int = BODY_CACHE):
        self.size = size
        self._bodies: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def tagged(self, tag: str, if_none_match: str | None, build, keep: bool = True
               ) -> tuple[str, bytes | None]:
        """(tag, build() as JSON), or (tag, None) when the client has this tag already. With
        `keep`, a rendered body is kept per ETag, so polling an unchanged story costs one
        lookup (raw event pages, which can be large, are rendered each time)."""
        if paging.etag_matches(if_none_match, tag):
            return tag, None
        with self._lock:
            body = self._bodies.get(tag)
            if body is not None:
                self._bodies.move_to_end(tag)
        if body is None:
            body = orjson.dumps(build())
            if keep:
                with self._lock:
                    self._bodies[tag] = body
                    while len(self._bodies) > self.size:
                        self._bodies.popitem(last=False)
        return tag, body


def answer(tag: str, body: bytes | None) -> Response:
    if body is None:
        return Response(status_code=304, headers={"ETag": tag})
    return Response(body, media_type="application/json", headers={"ETag": tag})


def variant_of(request: Request) -> str:
    return request.url.path + str(sorted(request.query_params.items()))


@dataclass(frozen=True)
class Reads:
    """One read request: the story service, the app's kept bodies, and the request's variant
    (path and query), which every ETag it answers with names."""

    service: StoryService
    bodies: Bodies
    variant: str

    def tagged(self, tag: str, if_none_match: str | None, build, keep: bool = True
               ) -> tuple[str, bytes | None]:
        return self.bodies.tagged(tag, if_none_match, build, keep)

    def render(self, slug: str, fn, as_of: int | None = None):
        return stories.render(self.service, slug, fn, as_of)

    async def cached(self, slug: str, if_none_match: str | None, fn,
                     as_of: str | None = None, known_at: str | None = None,
                     version: int | None = None) -> Response:
        """fn(view) as JSON with an ETag; 304 when the client has this version already. The
        view is the story at `version`, else as `known_at` and `as_of` ask (see AsOf, KnownAt
        in services/story/routes/stories.py), else now."""
        service, variant = self.service, self.variant
        news = stories.news_date(as_of)

        def work():
            known = version if version is not None else \
                stories.known_version(service, slug, as_of, known_at)
            if news is None:
                return self.render(slug, lambda view: self.tagged(
                    paging.etag(slug, view.version, variant), if_none_match, lambda: fn(view)),
                    known)
            head = self.render(slug, lambda view: view.version)
            head = head if known is None else min(known, head)
            return self.tagged(paging.etag(slug, head, variant), if_none_match,
                               lambda: fn(service.news_view(slug, news, head)))

        return answer(*await asyncio.to_thread(work))

    async def paged(self, slug: str, items_of, cursor: str | None, limit: int,
                    if_none_match: str | None, as_of: str | None = None,
                    known_at: str | None = None) -> Response:
        """A page of items_of(view). Every page of one walk reads the story at the version of
        the first page (the cursor carries it), so appends never shift items between pages."""
        offset, version = 0, None
        if cursor:
            try:
                version, offset = paging.decode_cursor(cursor)
            except BadCursor as exc:
                raise Problem(400, "bad-cursor", "The cursor is not valid", cursor) from exc
        return await self.cached(slug, if_none_match,
                                 lambda view: paging.page(items_of(view), view.version, offset,
                                                          limit),
                                 as_of, known_at, version)
