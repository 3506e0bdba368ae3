"""Articles in: forwarded by ingest, one or a batch, each attached to the stories it is about."""

import asyncio

from fastapi import APIRouter

from services.story.analysis import Article
from services.story.deps import FollowersDep, ServiceDep
from services.story.schemas import (
    AttachedBatchPublic,
    AttachedPublic,
    ForwardedArticle,
    ForwardedBatch,
    ShardBatch,
    ShardBatchPublic,
)
from shared import openapi
from shared.wakeup import EVENTS, Publisher
from shared.web import AdminKey

router = APIRouter(tags=["articles"])
WRITE_CONFLICT = "The story moved on meanwhile, or these events are recorded already"
SHARDS_AWAY = ("Some of the batch's stories could not be written: their shard's instance did "
               "not answer and no other could take it; `Retry-After` says when to try again")
NOT_HELD = "This instance does not hold the lease of every story's shard (any more)"


def event_context(article: ForwardedArticle) -> dict:
    """What the events of a forwarded article carry in their metadata beside its id: when
    ingest accepted it, the trace it is followed in."""
    context = {"accepted_at": article.accepted_at.isoformat() if article.accepted_at else None,
               "traceparent": article.traceparent}
    return {k: v for k, v in context.items() if v}


def domain_article(article: ForwardedArticle) -> Article:
    return Article(id=article.id, outlet=article.outlet, url=article.url, title=article.title,
                   published_at=article.published_at, body=article.body)


def appended(followers: Publisher, attach, *args):
    """Attach articles, then wake the feed's followers (notify's dispatcher) at once."""
    result = attach(*args)
    followers.publish(EVENTS)
    return result


@router.post("/v1/articles", response_model=AttachedPublic, dependencies=[AdminKey],
             summary="Attach a forwarded article (idempotent by article id)")
async def attach_article(article: ForwardedArticle, service: ServiceDep,
                         followers: FollowersDep):
    result = await asyncio.to_thread(appended, followers, service.attach_article,
                                     domain_article(article), article.revision_of,
                                     event_context(article))
    return result.to_dict()


@router.post("/v1/articles:batch", response_model=AttachedBatchPublic, dependencies=[AdminKey],
             summary="Attach forwarded articles in order (idempotent by article id)")
async def attach_articles(batch: ForwardedBatch, service: ServiceDep, followers: FollowersDep):
    """Each article is analyzed knowing the ones before it; each story gets one append for
    the whole batch, so either all of a story's new events are recorded or none."""
    items = [(domain_article(a), a.revision_of) for a in batch.articles]
    results = await asyncio.to_thread(appended, followers, service.attach_articles, items,
                                      {a.id: event_context(a) for a in batch.articles})
    return {"results": [r.to_dict() for r in results]}


@router.post("/v1/shards/articles", response_model=ShardBatchPublic, dependencies=[AdminKey],
             summary="Attach forwarded articles to stories of shards this instance holds "
                     "(between instances sharing the stories)")
async def attach_to_held_stories(batch: ShardBatch, service: ServiceDep,
                                 followers: FollowersDep):
    """Another instance's share of a batch: these stories are of shards this instance holds
    a lease on (else 409, and the sender finds their holder). Answers per story what each
    article came to; the sender answers the batch."""
    items = [(domain_article(a), a.revision_of) for a in batch.articles]
    found = await asyncio.to_thread(appended, followers, service.attach_owned, batch.slugs,
                                    items, {a.id: event_context(a) for a in batch.articles})
    return {"stories": {slug: None if outcomes is None else
                        [None if o is None else o.to_dict() for o in outcomes]
                        for slug, outcomes in found.items()}}


openapi.declare(router, {"attach_article": {409: WRITE_CONFLICT, 503: SHARDS_AWAY},
                         "attach_articles": {409: WRITE_CONFLICT, 503: SHARDS_AWAY},
                         "attach_to_held_stories": {409: NOT_HELD}})
