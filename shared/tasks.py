"""The one Celery app of storywire: its configuration, its queues and the whole beat schedule.

Run one beat for the deployment (`storywire beat`) and workers per queue:
`storywire worker --queues storywire-notify`, `storywire worker --queues storywire-ingest`.
"""

from celery import Celery
from celery.signals import celeryd_init, setup_logging, worker_process_init

from shared import logs, tracing
from shared.redact import install as redact_logs
from shared.settings import Settings, get_settings

NOTIFY_QUEUE = "storywire-notify"
INGEST_QUEUE = "storywire-ingest"
QUEUES = (NOTIFY_QUEUE, INGEST_QUEUE)
VISIBILITY_TIMEOUT = 3600
DIGEST_INTERVAL = 60.0
TASK_MODULES = ["services.notify.tasks", "services.ingest.tasks"]


def beat_schedule(settings: Settings) -> dict:
    return {
        "notify-sweep": {"task": "notify.sweep", "schedule": settings.sweep_interval},
        "notify-digests": {"task": "notify.digests", "schedule": DIGEST_INTERVAL},
        "ingest-poll-feeds": {"task": "ingest.poll_feeds", "schedule": settings.feed_poll_tick,
                              "options": {"queue": INGEST_QUEUE}},
    }


def make_celery(broker_url: str, settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    redact_logs()           # `celery -A shared.tasks worker` too: no secret in its logs
    app = Celery("storywire", broker=broker_url, include=TASK_MODULES)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=60,  # well under the visibility timeout
        task_soft_time_limit=50,
        task_ignore_result=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        # A worker outlives its broker: it reconnects for as long as the broker is away, and
        # tasks running when the connection drops finish (their sends are settled in the
        # database; cancelling them mid-send would only send them again).
        broker_connection_retry=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        task_default_queue=NOTIFY_QUEUE,
        beat_schedule=beat_schedule(settings),
        beat_schedule_filename=str(settings.data_dir / "celerybeat-schedule"),
    )
    return app


@celeryd_init.connect      # a worker, before its first warning
@setup_logging.connect     # beat, and a worker's own setup
def _log_as_storywire(**_kwargs) -> None:
    """Celery's processes (`celery -A shared.tasks worker`, beat) log as storywire does: JSON
    lines or plain ones (`LOG_FORMAT`), secrets redacted, ids bound; a process whose logging is
    set up already (`storywire beat`, the demo) keeps it."""
    if not logs.configured():
        settings = get_settings()
        logs.configure(settings.log_level.upper(),
                       logs.choose_format(settings.log_format, machine=True))


@worker_process_init.connect
def _trace_tasks(**_kwargs) -> None:
    """Each process of the worker's pool traces its tasks when an OTLP endpoint is set."""
    tracing.configure(get_settings(), "storywire-worker")


celery_app = make_celery(get_settings().broker_url)
_settings: Settings | None = None


def queue_lengths(app: Celery | None = None) -> dict[str, int]:
    """Tasks waiting in each of storywire's queues, as the broker counts them."""
    with (app or celery_app).connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        channel = conn.default_channel
        return {queue: channel._size(queue) for queue in QUEUES}


def configure(settings: Settings) -> None:
    """Use these settings in this process's tasks (the embedded mode passes its own)."""
    global _settings
    _settings = settings
    celery_app.conf.broker_url = settings.broker_url
    celery_app.conf.beat_schedule = beat_schedule(settings)


def current_settings() -> Settings:
    return _settings or get_settings()
