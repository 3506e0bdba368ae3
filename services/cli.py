"""The `storywire` command."""

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

from shared import logs
from shared.settings import get_settings

PORTS = {"ingest": 8001, "story": 8002, "notify": 8003}
BAD_INPUT = 2           # exit status for input the command cannot use (as argparse's)
METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's multiprocess mode


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("storywire")
    except PackageNotFoundError:
        return "unknown"


def explain(exc: BaseException) -> tuple[str, int]:
    """What a command that failed says of it, in one line, and its exit status: a file it
    cannot use, a database or broker it cannot reach, or, for anything else, the error's
    kind and first line (the traceback is for --debug)."""
    from services.story.offline import InputError
    from shared.redact import redact

    first = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, InputError):
        return str(exc), BAD_INPUT
    if _is_settings_error(exc):
        return redact(setting_problems(exc)), BAD_INPUT
    kinds = {type(e).__module__.split(".")[0] + "." + type(e).__name__
             for e in _chain(exc)}
    if kinds & {"sqlalchemy.OperationalError", "psycopg.OperationalError",
                "sqlite3.OperationalError", "sqlalchemy.ArgumentError",
                "sqlalchemy.NoSuchModuleError"}:
        cause = next((e for e in _chain(exc) if type(e).__module__.startswith(("psycopg",
                                                                               "sqlite3"))),
                     exc)
        detail = (str(cause).strip().splitlines() or [""])[0]
        return redact(f"cannot use the database: {detail}"), 1
    if kinds & {"kombu.OperationalError", "redis.ConnectionError", "redis.TimeoutError",
                "amqp.RecoverableConnectionError"}:
        return redact(f"cannot reach the broker: {first}"), 1
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return redact(f"{exc.strerror}{where}"), 1
    return redact(f"unexpected {type(exc).__name__}: {first} (run with --debug for the "
                  "traceback)"), 1


def _is_settings_error(exc: BaseException) -> bool:
    from pydantic import ValidationError

    return isinstance(exc, ValidationError) and exc.title == "Settings"


def setting_problems(exc) -> str:
    """A settings ValidationError in one line: each variable (STORYWIRE_...) and what is wrong
    with it (never its value, which may be a secret)."""
    return "; ".join(
        f"STORYWIRE_{'_'.join(map(str, e['loc'])).upper()}: "
        f"{e['msg'].removeprefix('Value error, ')}"
        for e in exc.errors()[:3])


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def cmd_demo(args) -> int:
    from services.demo.run import demo, serve_desk

    settings = get_settings().model_copy()
    if not (settings.database_url or settings.story_database_url):
        db = settings.data_dir / "demo.db"
        for suffix in ("", "-wal", "-shm"):
            db.with_name(db.name + suffix).unlink(missing_ok=True)
        settings.database_url = f"sqlite:///{db}"
    settings.allow_private_urls = True  # the demo's webhook receiver listens on loopback
    serve = None
    if args.serve:
        def serve(apps):
            return serve_desk(apps, args.host, args.port)
    asyncio.run(demo(settings, serve=serve))
    return 0


def cmd_analyze(args) -> int:
    from services.story.offline import analyze_files, check_article, check_story, read_json

    story = check_story(read_json(args.story_file), args.story_file)
    articles = [check_article(read_json(path), path) for path in args.articles]
    for result in analyze_files(story, articles, args.db):
        print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


def cmd_eval(args) -> int:
    from services.story.analysis.measure import main as measure_main

    return measure_main(args.rest)


def cmd_train(args) -> int:
    from services.story.analysis.decision import MODEL_FILE
    from services.story.analysis.routing import MODEL_FILE as ROUTING_FILE
    from services.story.analysis.training import (
        SPLITS_FILE,
        load_splits,
        train,
        train_routing,
        write_model,
    )

    stories = load_splits(Path(args.splits) if args.splits else SPLITS_FILE)
    model = train(stories)
    routing = train_routing(stories)
    out = Path(args.out) if args.out else MODEL_FILE
    routing_out = out.with_name(ROUTING_FILE.name)
    write_model(model, out)
    write_model(routing, routing_out)
    print(f"trained on {model['examples']['candidates']} candidates "
          f"({model['examples']['developments']} developments) and "
          f"{routing['examples']['pairs']} routing pairs of "
          f"{sum(1 for s in stories if s.split == 'train')} stories; wrote {out} and "
          f"{routing_out}")
    return 0


def cmd_replay(args) -> int:
    from services.story.replay import replay
    from shared.db import get_engine
    from shared.eventstore import EventStore

    engine = get_engine(get_settings().service_database_url("story"))
    result = replay(EventStore(engine), args.story)
    print(f"replayed {result['events']} events of {result['stories']} story(ies) in "
          f"{result['seconds']:.2f}s ({result['events_per_second']:,.0f} events/s)")
    return 0


def cmd_migrate(args) -> int:
    from shared.db import get_engine
    from shared.migrate import SERVICES, upgrade

    settings = get_settings()
    unknown = set(args.services) - set(SERVICES)
    if unknown:
        raise SystemExit(f"unknown service(s): {', '.join(sorted(unknown))}")
    for service in args.services or SERVICES:
        upgrade(service, get_engine(settings.service_database_url(service)))
        print(f"{service}: migrated")
    return 0


def cmd_serve(args) -> int:
    import uvicorn

    from services.ingest.api import create_app as ingest_app
    from services.notify.api import create_app as notify_app
    from services.story.api import create_app as story_app
    from shared import tracing

    factories = {"ingest": ingest_app, "story": story_app, "notify": notify_app}
    names = list(PORTS) if args.service == "all" else [args.service]
    tracing.configure(get_settings(), "storywire" if args.service == "all"
                      else f"storywire-{args.service}")

    async def serve_all():
        servers = []
        for name in names:
            port = args.port if (args.port and len(names) == 1) else PORTS[name]
            config = uvicorn.Config(factories[name](), host=args.host, port=port,
                                    log_level=get_settings().log_level.lower(),
                                    log_config=None)  # its loggers go to ours
            servers.append(uvicorn.Server(config))
        await asyncio.gather(*(s.serve() for s in servers))

    with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
        runner.run(serve_all())
    return 0


def _event_loop_factory():
    """uvloop where it is installed (Linux, macOS): a faster event loop for the servers."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def cmd_keys(args) -> int:
    from shared import keys
    from shared.db import get_engine
    from shared.migrate import upgrade

    settings = get_settings()
    engine = get_engine(settings.keys_database())
    upgrade("ingest", engine)  # the keys table is ingest's
    if args.keys_command == "create":
        scopes = args.scope or ["ingest"]
        problem = keys.scope_problem(scopes, args.subscriber)
        if problem:
            raise SystemExit(problem)
        key, token = keys.create_key(engine, args.name, scopes, args.subscriber)
        bound = f"; subscriber {key.subscriber_id}" if key.subscriber_id else ""
        print(f"created key {key.id} ({key.name}; scopes: {', '.join(key.scopes)}{bound})")
        print(f"token (shown once, store it now): {token}")
        if settings.api_key is None:
            print("note: set STORYWIRE_API_KEY too: with keys the services call each other "
                  "with it", file=sys.stderr)
    elif args.keys_command == "list":
        for key in keys.list_keys(engine):
            state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
            bound = f"  subscriber={key.subscriber_id}" if key.subscriber_id else ""
            print(f"{key.id}  {key.name}  scopes={','.join(key.scopes)}{bound}  "
                  f"created {key.created_at:%Y-%m-%d %H:%M}  {state}")
    else:
        key = keys.revoke_key(engine, args.id)
        if key is None:
            raise SystemExit(f"no key {args.id}")
        print(f"revoked key {key.id} ({key.name})")
    return 0


def cmd_articles(args) -> int:
    from services.ingest import store
    from shared.db import get_engine
    from shared.migrate import upgrade

    if bool(args.id) == args.all:
        raise SystemExit("name an article id or --all")
    engine = get_engine(get_settings().service_database_url("ingest"))
    upgrade("ingest", engine)
    redriven = store.redrive(engine, None if args.all else [args.id])
    if args.id and not redriven:
        raise SystemExit(f"article {args.id} is not failed")
    for article_id in redriven:
        print(f"redriven {article_id}")
    print(f"{len(redriven)} failed article(s) back in the outbox")
    return 0


def cmd_status(args) -> int:
    from datetime import UTC, datetime

    from services import status

    settings = get_settings()
    report = status.gather(settings)
    report["services"] = status.ask_services(status.targets(settings), settings.status_timeout)
    if args.json:
        print(json.dumps(status.as_json(report), sort_keys=True))
    else:
        print("\n".join(status.lines(report, datetime.now(UTC))))
    return 0


def count_in_multiprocess_dir() -> str:
    """Make this process and the ones it starts count in multiprocess mode: the directory
    `PROMETHEUS_MULTIPROC_DIR` names (emptied: values of an earlier run would be added in), or
    a private one, `storywire-metrics-<pid>` in the temporary directory, removed at exit (and
    by a later start once its process is gone: a server stopped by a signal skips its exit
    handlers). Call before prometheus_client is imported, which reads the variable once."""
    import atexit
    import glob
    import shutil
    import tempfile

    path = os.environ.get(METRICS_DIR)
    if not path:
        for old in glob.glob(os.path.join(tempfile.gettempdir(), "storywire-metrics-*")):
            if not _alive(old.rsplit("-", 1)[-1]):
                shutil.rmtree(old, ignore_errors=True)
        path = os.path.join(tempfile.gettempdir(), f"storywire-metrics-{os.getpid()}")
        os.environ[METRICS_DIR] = path
        atexit.register(shutil.rmtree, path, True)
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.unlink(os.path.join(path, name))
    return path


def _alive(pid: str) -> bool:
    """Whether a process of this id runs (True when that cannot be told)."""
    if not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def cmd_worker(args) -> int:
    """Run the Celery worker as a child and start it again whenever it exits with an error
    (an unrecoverable error in the broker client ends a worker for good). A clean exit, or
    SIGTERM / SIGINT to this process (passed on to the worker, which finishes its tasks), ends
    the command."""
    import signal
    import subprocess
    import time

    from shared import metrics

    log = logging.getLogger("storywire.worker")
    settings = get_settings()
    if settings.worker_metrics_port:  # the pool's processes count into the directory
        try:
            metrics.serve_exporter(settings.worker_metrics_port, args.metrics_host)
        except OSError as exc:  # the port is taken: the worker's work matters more
            log.error("cannot serve /metrics on port %d (%s); running without it",
                      settings.worker_metrics_port, exc.strerror or exc)
    log_format = logs.choose_format(settings.log_format, machine=True)
    command = worker_command(args.concurrency, args.queues, settings.log_level, log_format)
    child_env = {**os.environ, "STORYWIRE_LOG_FORMAT": log_format}  # it logs as this does
    stopping = False
    child: subprocess.Popen | None = None

    def pass_on(signum, frame):
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, pass_on)
    signal.signal(signal.SIGINT, pass_on)
    quick_exits = 0
    while True:
        started = time.monotonic()
        child = subprocess.Popen(command, env=child_env)
        code = child.wait()
        if stopping or code == 0:
            return 0
        quick_exits = quick_exits + 1 if time.monotonic() - started < 60 else 0
        delay = restart_delay(quick_exits)
        log.error("the worker exited with %s; starting it again in %.0f s", code, delay)
        time.sleep(delay)
        if stopping:
            return 0


def worker_command(concurrency: int, queues: str, log_level: str,
                   log_format: str = "console") -> list[str]:
    """The Celery worker; it logs as `shared.tasks` sets up (in JSON, without its banner)."""
    quiet = ["--quiet"] if log_format == "json" else []
    return [sys.executable, "-m", "celery", *quiet, "-A", "shared.tasks", "worker",
            "--loglevel", log_level, "--concurrency", str(concurrency), "--queues", queues]


def restart_delay(quick_exits: int) -> float:
    """Seconds before starting the worker again: 1 after one that ran a while, then 2, 4, ...
    up to 30 for each exit in a row soon after starting."""
    return float(min(2 ** quick_exits, 30))


def cmd_beat(args) -> int:
    """The one beat of a deployment: notify's sweep and digests, ingest's feed polling."""
    from shared.tasks import celery_app

    settings = get_settings()
    json_lines = logs.choose_format(settings.log_format, machine=True) == "json"
    celery_app.start([*(["--quiet"] if json_lines else []), "beat", "--loglevel",
                      settings.log_level])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="storywire", description=__doc__)
    parser.add_argument("--version", action="version", version=f"storywire {version()}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run every service in one process over example "
                          "articles")
    demo.add_argument("--serve", action="store_true",
                      help="then keep serving the desk (and the story API) until Ctrl-C")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)

    analyze = sub.add_parser("analyze", help="analyze article files against a story, offline; "
                             "prints one JSON object per article in publish order")
    analyze.add_argument("--story-file", required=True, help="{title, description, entities, "
                         "keywords}")
    analyze.add_argument("articles", nargs="+", metavar="ARTICLE.json")
    analyze.add_argument("--json", action="store_true",
                         help="JSON output (the default and only format: one object per line)")
    analyze.add_argument("--db", help="database URL to keep the events in (default: a fresh "
                         "temporary embedded store)")

    evaluate = sub.add_parser("eval", add_help=False,
                              help="score the analysis engine on the labelled corpora "
                                   "(storywire eval --help for its options)")
    evaluate.add_argument("rest", nargs="*", metavar="OPTION")

    training = sub.add_parser("train", help="rebuild the decision model from the labelled "
                              "corpora (deterministic)")
    training.add_argument("--splits", help="splits file (default: tests/splits.json)")
    training.add_argument("--out", help="where to write the model (default: the packaged one)")

    replay = sub.add_parser("replay", help="rebuild story views from their events")
    replay.add_argument("--story", help="the slug of one story (default: all)")

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("services", nargs="*", metavar="SERVICE",
                         help="ingest, story or notify (default: all three)")

    serve = sub.add_parser("serve", help="run services under uvicorn")
    serve.add_argument("service", nargs="?", default="all",
                       choices=["ingest", "story", "notify", "all"])
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int)

    worker = sub.add_parser("worker", help="run a Celery worker for notification deliveries")
    worker.add_argument("--concurrency", type=int, default=2)
    worker.add_argument("--queues", default="storywire-notify,storywire-ingest",
                        help="comma-separated Celery queues to consume")
    worker.add_argument("--metrics-host", default="0.0.0.0",
                        help="address of /metrics, on port WORKER_METRICS_PORT")

    keys = sub.add_parser("keys", help="API keys (all three services accept them)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key; prints its token once")
    create.add_argument("name", help="who uses it, e.g. the CMS or wire")
    create.add_argument("--scope", action="append",
                        choices=["read", "ingest", "subscriptions", "admin"],
                        help="repeat for several (default: ingest)")
    create.add_argument("--subscriber", help="the notify subscriber id a subscriptions key "
                        "acts for (it sees and changes only that subscriber's subscriptions)")
    keys_sub.add_parser("list", help="list keys (ids, names, scopes; never tokens)")
    revoke = keys_sub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id")

    articles = sub.add_parser("articles", help="articles ingest could not forward (failed)")
    articles_sub = articles.add_subparsers(dest="articles_command", required=True)
    redrive = articles_sub.add_parser("redrive", help="put failed articles back in the outbox")
    redrive.add_argument("id", nargs="?", help="the article's id")
    redrive.add_argument("--all", action="store_true", help="every failed article")

    state = sub.add_parser("status", help="outbox depth, parked articles, the notifier's lag "
                           "and deliveries by status, from the databases; then whether each "
                           "service is up and ready, with its outbox, feed lag, queues and "
                           "deliveries, from its /readyz and /metrics")
    state.add_argument("--json", action="store_true", help="one JSON object")

    sub.add_parser("beat", help="run Celery beat: notification sweeps (long retries, "
                   "sends cut short) and digests")

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["eval"] or argv[:2] == ["--debug", "eval"]:
        debug = argv[0] == "--debug"
        args = argparse.Namespace(command="eval", rest=argv[1 + debug:],   # its options are
                                  debug=debug)                              # its own
    else:
        args = parser.parse_args(argv)
    # The demo prints its own report; only warnings and errors are logged beside it.
    quiet = args.command in ("demo", "analyze", "eval", "train", "keys", "articles", "status")
    try:
        settings = get_settings()
    except Exception as exc:
        if args.debug or os.environ.get("STORYWIRE_DEBUG") or not _is_settings_error(exc):
            raise
        print(f"storywire {args.command}: {setting_problems(exc)}", file=sys.stderr)
        return BAD_INPUT
    level = "WARNING" if quiet else settings.log_level.upper()
    log_format = logs.choose_format(settings.log_format,
                                    machine=args.command in ("serve", "worker", "beat"))
    logs.configure(level, log_format)
    if args.command in ("serve", "worker"):  # processes that start others: count together
        count_in_multiprocess_dir()
    commands = {"demo": cmd_demo, "analyze": cmd_analyze, "eval": cmd_eval, "train": cmd_train,
                "migrate": cmd_migrate, "replay": cmd_replay, "serve": cmd_serve,
                "worker": cmd_worker, "keys": cmd_keys, "articles": cmd_articles,
                "beat": cmd_beat, "status": cmd_status}
    try:
        return commands[args.command](args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if args.debug or os.environ.get("STORYWIRE_DEBUG"):
            raise
        message, status = explain(exc)
        print(f"storywire {args.command}: {message}", file=sys.stderr)
        return status


if __name__ == "__main__":
    sys.exit(main())
