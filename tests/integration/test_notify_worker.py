"""Deliveries through a real `celery worker` process on Redis to a loopback webhook receiver."""

from conftest import wait_until
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from services.demo.receiver import WebhookReceiver
from services.notify import store
from services.notify.api import create_app
from services.notify.channels import new_secret
from services.notify.models import Delivery, DeliveryAttempt, Subscription
from shared.db import get_engine
from shared.migrate import upgrade
from shared.settings import Settings
from shared.tasks import make_celery


def development_event(position: int, dev_id: str, type_="ruling", outcome="denied") -> dict:
    return {
        "position": position,
        "type": "DevelopmentDetected",
        "data": {
            "story": "guzman-detention-conditions", "story_title": "Guzman detention conditions",
            "development": {"id": dev_id, "type": type_, "outcome": outcome,
                            "date": "2017-05-04", "summary": "s", "evidence": "e"},
            "article": {"id": "a1", "outlet": "CN", "url": "https://example.org/a1",
                        "title": "T", "published_at": "2017-05-04T20:00:00+00:00"},
        },
    }


def setup(pg_url, receiver, **filters):
    engine = get_engine(pg_url)
    upgrade("notify", engine)
    with Session(engine) as session:
        sub = Subscription(name="desk", channel="webhook", target=receiver.url,
                           secret=new_secret(), **filters)
        session.add(sub)
        session.commit()
        session.refresh(sub)
    receiver.secret = sub.secret
    return engine, sub


def start_worker(processes, pg_url, redis_url):
    env = {"STORYWIRE_NOTIFY_DATABASE_URL": pg_url, "STORYWIRE_BROKER_URL": redis_url,
           "STORYWIRE_WEBHOOK_TIMEOUT": "2"}
    worker = processes("worker", ["-m", "celery", "-A", "shared.tasks", "worker",
                                  "--pool", "solo", "--loglevel", "INFO",
                                  "--without-mingle", "--without-gossip"], env)
    wait_until(lambda: "ready" in worker.output(), 30, what="the celery worker to start")
    return worker


def statuses(engine):
    with Session(engine) as session:
        return {d.development_id: d.status for d in session.exec(select(Delivery))}


def test_worker_delivers_signed_webhooks_once_per_subscription_and_development(
        pg_url, redis_url, processes):
    with WebhookReceiver() as receiver:
        engine, sub = setup(pg_url, receiver, types=["ruling"])
        events = [development_event(5, "d1"), development_event(6, "d2", "hearing", "scheduled"),
                  development_event(7, "d3")]
        assert store.record_deliveries(engine, events, 7, "http://sw") == 2  # hearing filtered
        # A second dispatcher pass over the same page creates nothing more.
        assert store.record_deliveries(engine, events, 7, "http://sw") == 0
        assert store.feed_position(engine) == 7

        celery = make_celery(redis_url)
        for delivery_id in store.take_due(engine):
            celery.send_task("notify.deliver", args=[delivery_id])
        worker = start_worker(processes, pg_url, redis_url)
        wait_until(lambda: len(receiver.alerts) == 2, 30, what=f"alerts\n{worker.output()}")
        wait_until(lambda: set(statuses(engine).values()) == {"delivered"}, 10,
                   what="deliveries marked delivered")
        assert receiver.rejected == []
        ids = sorted(a["webhook_id"] for a in receiver.alerts)
        assert len(set(ids)) == 2 and all(i.startswith("msg_") for i in ids)
        assert {a["payload"]["data"]["development"]["id"] for a in receiver.alerts} == \
            {"d1", "d3"}

        # A task for an already delivered row does nothing.
        celery.send_task("notify.deliver", args=[ids[0]])
        wait_until(lambda: worker.output().count("succeeded") >= 3, 15,
                   what="the repeated task to run")
        assert len(receiver.alerts) == 2


def test_failures_are_retried_from_the_database_and_410_disables(pg_url, redis_url, processes):
    with WebhookReceiver() as receiver:
        engine, sub = setup(pg_url, receiver)
        receiver.answers = [500]
        store.record_deliveries(engine, [development_event(3, "d1")], 3, "http://sw")
        celery = make_celery(redis_url)
        start_worker(processes, pg_url, redis_url)
        (delivery_id,) = store.take_due(engine)
        celery.send_task("notify.deliver", args=[delivery_id])
        wait_until(lambda: statuses(engine)["d1"] == "pending" and _attempts(engine) == 1, 20,
                   what="the failed attempt to be recorded")
        # The 5 s retry is a Celery countdown already on its way: the sweep leaves it alone.
        assert store.take_due(engine) == []
        wait_until(lambda: statuses(engine)["d1"] == "delivered", 20, what="the retry")
        with Session(engine) as session:
            first, second = session.exec(select(DeliveryAttempt)
                                         .order_by(DeliveryAttempt.id)).all()
        assert first.status_code == 500 and second.status_code == 204
        assert (second.attempted_at - first.attempted_at).total_seconds() >= 4.5
        assert len(receiver.alerts) == 1

        receiver.answers = [410]
        store.record_deliveries(engine, [development_event(4, "d2")], 4, "http://sw")
        for delivery_id in store.take_due(engine):
            celery.send_task("notify.deliver", args=[delivery_id])
        wait_until(lambda: statuses(engine).get("d2") == "failed", 20, what="the 410")
        with Session(engine) as session:
            refreshed = session.get(Subscription, sub.id)
            assert not refreshed.active and "410" in refreshed.disabled_reason
        store.record_deliveries(engine, [development_event(5, "d3")], 5, "http://sw")
        assert "d3" not in statuses(engine)  # a disabled subscription gets nothing new


def _attempts(engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(DeliveryAttempt)).all())


def test_a_worker_killed_mid_send_delivers_after_restart_exactly_once(
        pg_url, redis_url, processes, tmp_path):
    """kill -9 while the receiver holds the request open; the restarted worker's beat sweep
    finds the expired claim and sends again, with the same webhook-id."""
    import threading

    from test_notify_channels import Receiver

    with Receiver() as receiver:
        engine = get_engine(pg_url)
        upgrade("notify", engine)
        with Session(engine) as session:
            sub = Subscription(name="desk", channel="webhook", target=receiver.url,
                               secret=new_secret())
            session.add(sub)
            session.commit()
            session.refresh(sub)
        hold = threading.Event()
        receiver.script = [{"status": 204, "wait": hold}]
        store.record_deliveries(engine, [development_event(3, "d1")], 3, "http://sw")
        (delivery_id,) = store.take_due(engine)
        make_celery(redis_url).send_task("notify.deliver", args=[delivery_id])

        env = {"STORYWIRE_NOTIFY_DATABASE_URL": pg_url, "STORYWIRE_BROKER_URL": redis_url,
               "STORYWIRE_WEBHOOK_TIMEOUT": "5", "STORYWIRE_DELIVERY_CLAIM_SECONDS": "3",
               "STORYWIRE_SWEEP_INTERVAL": "1", "STORYWIRE_DATA_DIR": str(tmp_path)}
        args = ["-m", "celery", "-A", "shared.tasks", "worker", "--pool", "solo",
                "--loglevel", "INFO", "--without-mingle", "--without-gossip"]
        first = processes("worker-1", args, env)
        wait_until(lambda: len(receiver.requests) == 1, 30,
                   what=f"the send to start\n{first.output()}")
        api = TestClient(create_app(Settings(notify_database_url=pg_url),
                                    run_dispatch_loop=False))
        attempts = f"/v1/deliveries/{delivery_id}/attempts"
        assert [a["state"] for a in api.get(attempts).json()] == ["started"]
        first.kill()  # SIGKILL to the whole process group, mid-send
        hold.set()
        assert statuses(engine)["d1"] == "sending"

        second = processes("worker-2", [*args, "--beat"], env)
        wait_until(lambda: statuses(engine)["d1"] == "delivered", 60,
                   what=f"the redelivery\n{second.output()}")
        alerts = receiver.verified(sub.secret)
        assert {a["id"] for a in alerts} == {delivery_id}  # one alert, one webhook-id
        assert alerts[0]["payload"]["data"]["development"]["id"] == "d1"
        assert len(alerts) == 2  # the first copy reached the receiver before the kill
        # The cut-off send is in the attempts, before the one that delivered.
        cut, sent = api.get(attempts).json()
        assert cut["state"] == "interrupted" and cut["status_code"] is None
        assert "interrupted" in cut["error"]
        assert sent["state"] == "completed" and sent["status_code"] == 200
        assert cut["attempted_at"] < sent["attempted_at"]


def test_a_task_that_meets_the_database_down_sends_once_it_is_back(private_postgres, redis_url,
                                                                    processes):
    """The task of a delivery marked enqueued runs while PostgreSQL is away: it retries itself
    and sends once the database is back (no sweep or dispatcher runs here; the stale-enqueue
    rule alone would wait minutes)."""
    with WebhookReceiver() as receiver:
        engine, sub = setup(private_postgres.url, receiver)
        store.record_deliveries(engine, [development_event(3, "d1")], 3, "http://sw")
        (delivery_id,) = store.take_due(engine)
        worker = start_worker(processes, private_postgres.url, redis_url)
        private_postgres.stop()
        result = make_celery(redis_url).send_task("notify.deliver", args=[delivery_id])
        wait_until(lambda: result.id in worker.output() and "OperationalError" in
                   worker.output(), 30, what=f"the task to meet the outage\n{worker.output()}")
        private_postgres.start()
        wait_until(lambda: statuses(engine)["d1"] == "delivered", 60,
                   what=f"the delivery\n{worker.output()}")
        assert [a["webhook_id"] for a in receiver.alerts] == [delivery_id]
