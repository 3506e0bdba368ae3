"""Many deliveries a task: claimed together, their webhooks sent concurrently to loopback
receivers (signed, verified), the delivered ones settled together and the rest as one delivery
is settled; one row per (subscription, development); attempts recorded; a stale claim taken
over. On SQLite and PostgreSQL, and through a real Celery worker on Redis."""

from datetime import timedelta

import httpx
from conftest import wait_until
from sqlalchemy import update
from sqlmodel import Session, func, select
from test_notify_worker import development_event, start_worker  # noqa: I001

from services.demo.receiver import WebhookReceiver
from services.notify import store, tasks
from services.notify.channels import new_secret
from services.notify.dispatcher import hand_over
from services.notify.models import Delivery, DeliveryAttempt, Subscription
from shared.db import get_engine, utcnow
from shared.migrate import upgrade
from shared.settings import Settings
from shared.tasks import configure, make_celery


def subscribe(engine, receivers: list[WebhookReceiver], per_receiver: int) -> None:
    with Session(engine) as session:
        for receiver in receivers:
            receiver.secret = new_secret()
            for n in range(per_receiver):
                session.add(Subscription(name=f"desk {n}", channel="webhook",
                                         target=receiver.url, secret=receiver.secret))
        session.commit()


def by_status(engine) -> dict[str, int]:
    return store.count_by_status(engine)


def attempts(engine) -> list[DeliveryAttempt]:
    with Session(engine) as session:
        return list(session.exec(select(DeliveryAttempt)).all())


def test_a_group_is_sent_concurrently_and_settled_like_single_deliveries(db_url, tmp_path):
    engine = get_engine(db_url)
    upgrade("notify", engine)
    configure(Settings(notify_database_url=db_url, allow_private_urls=True, webhook_timeout=2,
                       webhook_concurrency=3, data_dir=tmp_path))
    scheduled = []
    try:
        with WebhookReceiver() as good, WebhookReceiver() as failing:
            subscribe(engine, [good, failing], 6)
            failing.answers = [500] * 6
            assert store.record_deliveries(engine, [development_event(3, "d1")], 3,
                                           "http://sw") == 12
            # a second pass over the same page makes no second row for anyone
            assert store.record_deliveries(engine, [development_event(3, "d1")], 3,
                                           "http://sw") == 0
            ids = store.take_due(engine)
            with httpx.Client() as http:
                outcomes = tasks.deliver_many(ids, http, lambda i, s: scheduled.append((i, s)))
                # the same group again (a retry's task): the delivered rows are left alone
                again = tasks.deliver_many(ids, http)

        assert sorted(outcomes.values()) == ["delivered"] * 6 + ["pending"] * 6
        assert len(good.alerts) == 6 and good.rejected == []      # signatures verified
        assert {a["webhook_id"] for a in good.alerts} == \
            {i for i, o in outcomes.items() if o == "delivered"}
        assert len(failing.requests) == 12 and failing.rejected == []  # 6 failed, 6 retried
        pending = {i for i, o in outcomes.items() if o == "pending"}
        assert again == dict.fromkeys(pending, "delivered")
        assert len(good.alerts) == 6 and len(failing.alerts) == 6
        assert by_status(engine) == {"delivered": 12}
        assert sorted(i for i, _ in scheduled) == \
            sorted(i for i, o in outcomes.items() if o == "pending")  # a countdown retry each
        assert all(4 <= s <= 6 for _, s in scheduled)
        recorded = attempts(engine)
        assert len(recorded) == 18 and {a.state for a in recorded} == {"completed"}
        assert sorted(a.status_code for a in recorded) == [204] * 12 + [500] * 6
        with Session(engine) as session:  # the failing streaks began, and ended on success
            streaks = session.exec(select(func.count()).where(
                Subscription.failing_since.is_not(None))).one()
        assert streaks == 0
    finally:
        configure(Settings())


def test_a_stale_claim_in_a_group_is_taken_over_and_a_delivered_row_left_alone(db_url,
                                                                                tmp_path):
    engine = get_engine(db_url)
    upgrade("notify", engine)
    configure(Settings(notify_database_url=db_url, allow_private_urls=True, data_dir=tmp_path))
    try:
        with WebhookReceiver() as receiver, httpx.Client() as http:
            subscribe(engine, [receiver], 3)
            store.record_deliveries(engine, [development_event(3, "d1")], 3, "http://sw")
            first, second, third = store.take_due(engine)
            assert tasks.deliver_many([first], http) == {first: "delivered"}
            # a worker died sending the second: its claim lapsed
            assert store.claim(engine, second) is not None
            with Session(engine) as session:
                session.exec(update(Delivery).where(Delivery.id == second)
                             .values(claimed_until=utcnow() - timedelta(seconds=1)))
                session.commit()
            assert store.take_due(engine) == [second]          # the sweep takes it over
            outcomes = tasks.deliver_many([first, second, third], http)
        assert outcomes == {second: "delivered", third: "delivered"}
        assert sorted(a["webhook_id"] for a in receiver.alerts) == sorted([first, second, third])
        states = sorted(a.state for a in attempts(engine))
        assert states == ["completed", "completed", "completed", "interrupted"]
    finally:
        configure(Settings())


def test_the_dispatcher_hands_over_groups_that_a_real_worker_delivers(pg_url, redis_url,
                                                                      processes):
    engine = get_engine(pg_url)
    upgrade("notify", engine)
    with WebhookReceiver() as receiver:
        subscribe(engine, [receiver], 120)
        assert store.record_deliveries(engine, [development_event(3, "d1")], 3,
                                       "http://sw") == 120
        celery = make_celery(redis_url)
        groups = []

        def enqueue(ids: list[str]) -> None:
            groups.append(len(ids))
            celery.send_task("notify.deliver", args=ids)

        assert hand_over(engine, store.take_due(engine), enqueue) == 120
        assert groups == [50, 50, 20]
        worker = start_worker(processes, pg_url, redis_url)
        wait_until(lambda: by_status(engine) == {"delivered": 120}, 60,
                   what=f"every delivery\n{worker.output()[-3000:]}")
        assert receiver.rejected == []
        assert sorted(a["webhook_id"] for a in receiver.alerts) == \
            sorted({a["webhook_id"] for a in receiver.alerts})   # each once
        assert len(receiver.alerts) == 120
        assert len(attempts(engine)) == 120
