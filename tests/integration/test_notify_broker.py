"""Notify against a broker that goes away: a private redis-server the tests kill and restart."""

import asyncio
import base64
import json

import httpx
from sqlmodel import Session, select
from test_notify_worker import development_event, setup

from services.demo.receiver import WebhookReceiver
from services.notify import store
from services.notify.clients import StoryFeedClient
from services.notify.dispatcher import dispatch_once
from services.notify.models import Delivery
from services.story.api import create_app as create_story_app
from shared.db import get_engine
from shared.migrate import upgrade
from shared.settings import Settings
from shared.tasks import NOTIFY_QUEUE, make_celery


def story_feed(pg_url) -> StoryFeedClient:
    """The story service's real feed, in this process (it has no events: the test records
    deliveries itself)."""
    upgrade("story", get_engine(pg_url))
    app = create_story_app(Settings(story_database_url=pg_url), run_snapshotter=False)
    return StoryFeedClient(httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                             base_url="http://story"))


def queued_ids(server) -> list[str]:
    client = server.client()
    try:
        messages = [json.loads(m) for m in client.lrange(NOTIFY_QUEUE, 0, -1)]
        return [json.loads(base64.b64decode(m["body"]))[0][0] for m in messages]
    finally:
        client.close()


def test_a_delivery_the_broker_refused_is_enqueued_by_the_next_pass(pg_url, private_redis):
    with WebhookReceiver() as receiver:
        engine, _ = setup(pg_url, receiver)
    store.record_deliveries(engine, [development_event(3, "d1")], 3, "http://sw")
    celery = make_celery(private_redis.url)  # the broker is down

    def enqueue(delivery_ids: list[str]) -> None:
        celery.send_task("notify.deliver", args=delivery_ids, queue=NOTIFY_QUEUE)

    feed = story_feed(pg_url)
    asyncio.run(dispatch_once(engine, feed, enqueue, 100, "http://sw"))
    with Session(engine) as session:
        (delivery,) = session.exec(select(Delivery)).all()
    assert delivery.status == "pending" and delivery.enqueued_at is None  # not marked sent

    private_redis.start()  # the broker is back: the next pass enqueues it
    asyncio.run(dispatch_once(engine, feed, enqueue, 100, "http://sw"))
    assert queued_ids(private_redis) == [delivery.id]
    asyncio.run(dispatch_once(engine, feed, enqueue, 100, "http://sw"))
    assert queued_ids(private_redis) == [delivery.id]  # and only once


def test_deliveries_held_for_a_lost_broker_are_released_once_the_database_is_back(
        private_postgres, tmp_path):
    """A worker reconnecting to a restarted broker while the database is away too releases
    the deliveries marked enqueued as soon as the database answers again."""
    import threading

    from services.notify import tasks
    from shared.tasks import configure

    url = private_postgres.url
    with WebhookReceiver() as receiver:
        engine, _ = setup(url, receiver)
    store.record_deliveries(engine, [development_event(3, "d1")], 3, "http://sw")
    assert len(store.take_due(engine)) == 1      # marked enqueued; its task lost with the broker
    configure(Settings(notify_database_url=url, data_dir=tmp_path))
    try:
        private_postgres.stop()
        assert not tasks.release_enqueued()           # one try: the database is away
        released = []
        waiting = threading.Thread(
            target=lambda: released.append(tasks.release_enqueued((0.2,))))
        waiting.start()
        private_postgres.start()
        waiting.join(60)
        assert released == [True]
        assert len(store.take_due(engine)) == 1       # the next pass enqueues it again
    finally:
        configure(Settings())
