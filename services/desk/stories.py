"""The stories list (create, edit, archive) and a story's page: its timeline, what each
article changed, matters, conflicts, live updates and time travel."""

import asyncio
import copy
from typing import Annotated

from fastapi import Header, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from services.desk import views
from services.desk.web import (
    DeskDep,
    FormDep,
    ViewerDep,
    desk_router,
    page,
    same_origin,
    text,
    validation_problem,
)
from services.story import events as ev
from services.story import stories
from services.story.routes.events import LAST_SINCE, EventStream, resume_after, sse_events
from services.story.schemas import StoryCreate, StoryUpdate
from services.story.service import for_readers
from shared.problems import Problem

router = desk_router()
UNROUTED_SHOWN = 20
CHANGES_SHOWN = 20      # the newest articles whose sentences the story page shows
UNROUTED_READ = 500
Text = Annotated[str | None, Query(max_length=100)]


def story_fields(form, fields: tuple[str, ...]) -> dict:
    """A story form's fields as the API takes them: lists one per line, a blank time zone
    or slug left out."""
    data = {}
    for name in fields:
        value = text(form, name)
        if name in ("entities", "keywords"):
            data[name] = views.lines(value)
        elif value or name in ("title", "description"):
            data[name] = value
    return data


def analysis_of(store, slug: str, article: dict) -> dict:
    """The story's analysis of an article: the event after the one that attached it."""
    events = store.read_stream(ev.story_stream(slug), article["attached_version"], 2)
    return views.analysis_in(for_readers(store, events), article["id"])


def parsed(model, data: dict):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from None


@router.get("/stories")
async def read_stories(request: Request, desk: DeskDep, viewer: ViewerDep):
    viewer.require("read")
    service = desk.service

    def work():
        rows = (service.read(s, lambda v: copy.deepcopy(views.story_row(v)))
                for s in service.slugs(max_age=0))
        return sorted((r for r in rows if r), key=lambda r: r["updated_at"] or "", reverse=True)

    return page(request, viewer, "stories.html", stories=await asyncio.to_thread(work))


@router.post("/stories")
async def create_story(desk: DeskDep, viewer: ViewerDep, form: FormDep):
    viewer.require("admin")
    body = parsed(StoryCreate, story_fields(form, ("slug", "title", "description", "entities",
                                                   "keywords", "time_zone")))
    summary = await asyncio.to_thread(stories.create_story, desk.service, body)
    return RedirectResponse(f"/desk/stories/{summary['slug']}", status_code=303)


@router.get("/stories/{slug}")
async def read_story(request: Request, slug: str, desk: DeskDep, viewer: ViewerDep,
                     type: Text = None, outcome: Text = None, as_of: Text = None,
                     known_at: Text = None):
    viewer.require("read")
    as_of, known_at = as_of or None, known_at or None
    store = desk.service.store

    def build(view):
        timeline = view.timeline()
        return copy.deepcopy({
            "story": view.summary(), "version": view.version,
            "filters": views.timeline_filters(timeline),
            "timeline": views.filter_timeline(timeline, type, outcome),
            "articles": views.article_tree(view.articles.values()),
            "titles": {a["id"]: a for a in view.articles.values()},
            "matters": list(view.matters.values()), "conflicts": view.conflicts})

    def work():
        found = stories.read_as(desk.service, slug, build, as_of, known_at)
        newest = list(found["titles"].values())[-CHANGES_SHOWN:]
        found["changed"] = {a["id"]: views.sentences(analysis_of(store, slug, a),
                                                     found["titles"]) for a in newest}
        head = store.stream_version(ev.UNROUTED_STREAM)
        recent = store.read_stream(ev.UNROUTED_STREAM, max(1, head - UNROUTED_READ + 1),
                                   UNROUTED_READ) if head else []
        return {**found, "unrouted": views.considered_unrouted(recent, slug)[:UNROUTED_SHOWN]}

    found = await asyncio.to_thread(work)
    travel = views.time_travel(as_of, known_at)
    return page(request, viewer, "story.html", **found, slug=slug, type=type,
                outcome=outcome, as_of=as_of, known_at=known_at, travel=travel,
                live=not travel)


@router.get("/stories/{slug}/edit")
async def read_story_form(request: Request, slug: str, desk: DeskDep, viewer: ViewerDep):
    viewer.require("admin")
    story = await asyncio.to_thread(stories.render, desk.service, slug,
                                    lambda v: copy.deepcopy(v.summary()))
    return page(request, viewer, "story_form.html", story=story)


@router.post("/stories/{slug}")
async def update_story(slug: str, desk: DeskDep, viewer: ViewerDep, form: FormDep):
    viewer.require("admin")
    data = story_fields(form, ("title", "description", "entities", "keywords", "time_zone"))
    data.setdefault("time_zone", None)      # a blank zone: back to the place the story names
    body = parsed(StoryUpdate, data)
    await asyncio.to_thread(stories.update_story, desk.service, slug, body)
    return RedirectResponse(f"/desk/stories/{slug}", status_code=303)


@router.post("/stories/{slug}/archive")
async def archive_story(slug: str, desk: DeskDep, viewer: ViewerDep, form: FormDep):
    viewer.require("admin")
    await asyncio.to_thread(stories.archive_story, desk.service, slug)
    return RedirectResponse(f"/desk/stories/{slug}", status_code=303)


@router.get("/stories/{slug}/articles/{article_id}")
async def read_article(request: Request, slug: str, article_id: str, desk: DeskDep,
                       viewer: ViewerDep):
    viewer.require("read")

    def work():
        known = stories.render(desk.service, slug, lambda v: copy.deepcopy(
            {"articles": v.articles, "title": v.definition.get("title", slug)}))
        article = known["articles"].get(article_id)
        if article is None:
            raise Problem(404, "not-found", "No such article on this story", article_id)
        analysis = analysis_of(desk.service.store, slug, article)
        return {"article": article, "story_title": known["title"],
                "sentences": views.sentences(analysis, known["articles"]),
                "original": known["articles"].get(article["duplicate_of"] or "")}

    return page(request, viewer, "article.html", slug=slug, **await asyncio.to_thread(work))


@router.get("/stories/{slug}/stream")
async def stream_story(request: Request, slug: str, desk: DeskDep, viewer: ViewerDep,
                       from_version: Annotated[int | None, Query(ge=0, le=LAST_SINCE)] = None,
                       last_event_id: Annotated[str | None, Header()] = None):
    """The story API's event stream, for the desk's own pages: the sign-in cookie is the key
    (EventSource sends no headers), and only from this origin."""
    viewer.require("read")
    if not same_origin(request):
        raise Problem(403, "cross-origin", "The request comes from another site")
    head = await asyncio.to_thread(stories.render, desk.service, slug, lambda v: v.version)
    after = resume_after(last_event_id, from_version if from_version is not None else head)
    return EventStream(sse_events(desk.service.store, slug, after, request),
                       headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
