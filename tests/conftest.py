"""Shared fixtures: real PostgreSQL and Redis when present, a fresh database per test.

Set STORYWIRE_TEST_REQUIRE_SERVICES=1 (CI does) to turn "service missing" skips into failures.
"""

import os
import uuid

import psycopg
import pytest
import redis

from shared.db import dispose_engine

PG_ADMIN_URL = os.environ.get("STORYWIRE_TEST_PG_URL",
                              "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("STORYWIRE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE = os.environ.get("STORYWIRE_TEST_REQUIRE_SERVICES", "") not in ("", "0", "false")


def missing(service: str, reason: str):
    message = f"{service} is not reachable ({reason})"
    if REQUIRE:
        pytest.fail(f"{message}; STORYWIRE_TEST_REQUIRE_SERVICES is set", pytrace=False)
    pytest.skip(f"{message}; start it to run this test")


def _pg_available() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).splitlines()[0]


@pytest.fixture
def pg_url():
    """A PostgreSQL database created for this test and dropped after it."""
    problem = _pg_available()
    if problem:
        missing("PostgreSQL", problem)
    name = f"storywire_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    yield url
    dispose_engine(url)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'storywire.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """Each core test runs on both the embedded default and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'storywire.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def redis_url():
    """A Redis database number of its own (leased, so parallel test runs never share one),
    emptied before and after the test."""
    base = REDIS_URL.rsplit("/", 1)[0]
    leases = redis.Redis.from_url(f"{base}/0", socket_connect_timeout=2)
    try:
        leases.ping()
    except redis.RedisError as exc:
        missing("Redis", str(exc))
    token = uuid.uuid4().hex
    db = next((n for n in range(1, 16)
               if leases.set(f"storywire:test-db-lease:{n}", token, nx=True, ex=900)), None)
    if db is None:
        pytest.fail("all Redis test databases are leased by other test runs")
    client = redis.Redis.from_url(f"{base}/{db}", socket_connect_timeout=2)
    client.flushdb()
    yield f"{base}/{db}"
    client.flushdb()
    client.close()
    if leases.get(f"storywire:test-db-lease:{db}") == token.encode():
        leases.delete(f"storywire:test-db-lease:{db}")
    leases.close()


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    """Poll until predicate() is truthy; returns its value or fails the test."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Process:
    """A real child process (uvicorn server, celery worker) with its output kept in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path):
        import subprocess
        import sys

        self.log_path = log_path
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        full_env = {**os.environ, **env}
        self.proc = subprocess.Popen([sys.executable, *args], env=full_env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def kill(self, sig=9) -> None:
        import signal

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.Signals(sig))
            self.proc.wait(10)

    def stop(self) -> None:
        import signal
        import subprocess

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def processes(tmp_path):
    """Start real processes; all are stopped at the end of the test (output shown on failure)."""
    started: list[Process] = []

    def start(name: str, args: list[str], env: dict[str, str]) -> Process:
        proc = Process(args, env, tmp_path / f"{name}.log")
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def allow_loopback_urls(monkeypatch):
    """The tests' webhook and Slack receivers listen on loopback, which subscriber URLs may not
    use unless the operator allows it; child processes inherit this. Tests of the URL guard
    build their own Settings."""
    monkeypatch.setenv("STORYWIRE_ALLOW_PRIVATE_URLS", "true")


# an article the seeded Guzman story takes, with two rulings in it
RULING_ARTICLE = {
    "outlet": "Brooklyn Court Reporter",
    "url": "https://bcr.example/2017/05/04/cogan-solitary-rulings",
    "title": "Judge keeps Guzman in solitary, turns away Amnesty",
    "published_at": "2017-05-04T20:00:00Z",
    "body": ("A federal judge on Thursday refused to release Joaquin \"El Chapo\" Guzman from "
             "solitary confinement, pointing to his escapes from Mexican prisons.\n\n"
             "U.S. District Judge Brian Cogan also rejected the request to let Amnesty "
             "International observers visit Guzman at the Metropolitan Correctional Center."),
}


def stack_env(pg_url: str, redis_url: str, key: str, **extra: str
              ) -> tuple[dict[str, str], dict[str, int]]:
    """Settings for real ingest, story and notify processes on free ports, and the ports."""
    ports = {name: free_port() for name in ("ingest", "story", "notify")}
    env = {
        "STORYWIRE_DATABASE_URL": pg_url,
        "STORYWIRE_BROKER_URL": redis_url,
        "STORYWIRE_STORY_URL": f"http://127.0.0.1:{ports['story']}",
        "STORYWIRE_API_KEY": key,
        "STORYWIRE_RELAY_INTERVAL": "0.2",
        "STORYWIRE_DISPATCH_INTERVAL": "0.2",
        **extra,
    }
    return env, ports


def migrate_stack(env: dict[str, str]) -> None:
    """`storywire migrate` with these settings, as an operator runs it before the services."""
    import subprocess
    import sys

    migrated = subprocess.run([sys.executable, "-m", "services.cli", "migrate"],
                              env={**os.environ, **env}, capture_output=True, text=True,
                              timeout=120)
    assert migrated.returncode == 0, migrated.stderr


def serve_stack(processes, env: dict[str, str], ports: dict[str, int]) -> dict:
    """Migrate, start `storywire serve` for each service, and wait until each is ready."""
    migrate_stack(env)
    servers = {name: processes(name, ["-m", "services.cli", "serve", name, "--port",
                                      str(port)], env) for name, port in ports.items()}
    for name, port in ports.items():
        wait_until(lambda p=port: ready(p), 30,
                   what=f"{name} to be ready\n{servers[name].output()}")
    return servers


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a /metrics page, by name and labels."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(url, timeout=10).text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def ready(port: int) -> bool:
    import httpx

    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class RedisServer:
    """A private `redis-server` on a free port of its own, without persistence (killing it
    loses every queued message, as a broker restart without disk does)."""

    def __init__(self, log_path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_path
        self.proc = None

    def start(self) -> None:
        import subprocess

        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no"], stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        wait_until(lambda: self._pong(client), 10, what=f"redis-server on {self.port}")
        client.close()

    @staticmethod
    def _pong(client) -> bool:
        try:
            return client.ping()
        except redis.RedisError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=2)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server the test starts, kills and restarts (not started yet)."""
    import shutil

    if shutil.which("redis-server") is None:
        missing("redis-server", "not installed")
    server = RedisServer(tmp_path / "redis-server.log")
    yield server
    server.kill()


class PostgresServer:
    """A private PostgreSQL cluster (initdb in a temporary directory) on a free port of its own,
    so a test can restart or crash it without touching the shared server. As root the cluster
    belongs to the `postgres` user (initdb refuses root)."""

    def __init__(self, bin_dir: str, user: str | None):
        import tempfile

        self.bin_dir = bin_dir
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="storywire-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "postgres.log")
        self.run_as = ["runuser", "-u", user, "--"] if user else []
        if user:
            import shutil

            shutil.chown(self.dir, user)
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/storywire"

    def _run(self, tool: str, *args: str) -> None:
        import subprocess

        done = subprocess.run([*self.run_as, os.path.join(self.bin_dir, tool), *args],
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            pytest.fail(f"{tool} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}\n"
                        f"{self.output()}")

    def output(self) -> str:
        try:
            with open(self.log_path, errors="replace") as log:
                return log.read()[-5000:]
        except OSError:
            return ""

    def init(self) -> None:
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")
        self.start()
        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute('CREATE DATABASE "storywire"')

    def _ctl(self, *args: str) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories='' -c max_connections=200")
        self._run("pg_ctl", "-D", self.data, "-l", self.log_path, "-o", options, "-w",
                  "-t", "60", *args)

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        """A crash and recovery: every connection is cut, nothing committed is lost."""
        self._ctl("restart", "-m", "immediate")

    def stop(self) -> None:
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._ctl("stop", "-m", "immediate")


def _postgres_bin_dir() -> str | None:
    import glob
    import shutil

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


@pytest.fixture
def private_postgres():
    """A PostgreSQL cluster of the test's own, started (database `storywire`, trust auth); the
    test may restart it; it is stopped and removed after the test."""
    import pwd
    import shutil

    bin_dir = _postgres_bin_dir()
    if bin_dir is None:
        missing("PostgreSQL server binaries", "initdb not found")
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres").pw_name
        except KeyError:
            missing("PostgreSQL server binaries", "running as root without a postgres user")
    server = PostgresServer(bin_dir, user)
    try:
        server.init()
        yield server
    finally:
        dispose_engine(server.url)
        try:
            server.stop()
        finally:
            shutil.rmtree(server.dir, ignore_errors=True)


# -- the labelled corpus as a story service sees it -----------------------------------------------

@pytest.fixture(scope="module")
def corpus():
    """The story definitions of `tests/corpus` and all its articles in publish order, as
    (article, revision_of) items for `StoryService.attach_articles`."""
    from pathlib import Path

    from services.story.analysis import Article
    from services.story.analysis.corpus import load_corpus
    from services.story.offline import story_definition

    stories = load_corpus(Path(__file__).resolve().parent / "corpus")
    articles = sorted((a for s in stories for a in s.articles),
                      key=lambda a: (a["published_at"], a["id"]))
    return [story_definition(s.story) for s in stories], \
        [(Article.from_dict(a), None) for a in articles]


def fresh_service(url: str, definitions):
    """A story service on a new store at `url` that tracks `definitions`."""
    from services.story.service import StoryService
    from shared.db import get_engine
    from shared.eventstore import EventStore
    from shared.migrate import upgrade

    engine = get_engine(url)
    upgrade("story", engine)
    service = StoryService(EventStore(engine))
    for definition in definitions:
        service.define_story(definition)
    return service
