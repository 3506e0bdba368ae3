"""Event store throughput: ours against the eventsourcing library's PostgreSQL recorder.

Runs the same workloads, in the same process and against the same PostgreSQL server, through

* ours: ``shared.eventstore.EventStore`` on a database migrated with ``upgrade("story", ...)``;
* baseline: ``eventsourcing.postgres.PostgresApplicationRecorder`` on a second database.

Both stores serialize appends with an EXCLUSIVE table lock so that the global feed commits in
order; the difference is in what each append does while it holds that lock.

Workloads, each run for a fixed duration per store after a short warm-up, in six slices that
alternate between the two stores (so that both meet the same load on a shared machine):

* append: batch sizes 1 and 10, with 1 and 4 writer threads; every writer appends to its own
  streams and starts a new stream every ~100 events, with the right expected version (ours: the
  known current version; baseline: the library's optimistic originator versions);
* feed read: the whole global feed, from position 0 in pages of 1000, over and over.

Both databases are created fresh with unique names and dropped at the end.

    .venv/bin/python bench/eventstore.py [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]
                                         [--seconds 3]
"""

import argparse
import json
import os
import platform
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.persistence import StoredEvent  # noqa: E402
from eventsourcing.postgres import (  # noqa: E402
    PostgresApplicationRecorder,
    PostgresDatastore,
)

from shared.db import dispose_engine, get_engine, normalize_url  # noqa: E402
from shared.eventstore import EventStore, NewEvent  # noqa: E402
from shared.migrate import upgrade  # noqa: E402

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
EVENTS_PER_STREAM = 100
PAGE_SIZE = 1000
BATCH_SIZES = (1, 10)
WRITER_COUNTS = (1, 4)
SLICES = 6  # per cell, alternating between the two stores
EVENT_TYPE = "ArticleLinked"
BASELINE_TOPIC = "bench.eventstore:ArticleLinked"


# -- payloads ------------------------------------------------------------------------------------


def payload(seq: int) -> dict:
    """About 200 bytes of JSON, like an event that links an article to a story."""
    return {
        "article_id": f"art-{seq:012d}",
        "url": f"https://news.example.org/2017/04/{seq:08d}/guzman-detention-hearing",
        "headline": "Judge weighs limits on visits in Manhattan jail",
        "score": 0.8125,
        "seq": seq,
    }


PAYLOAD_BYTES = len(json.dumps(payload(0)).encode())


# -- the two stores behind one small interface ---------------------------------------------------


class Writer:
    """One writer thread's view of a store: appends a batch to its current stream."""

    def append_batch(self, size: int) -> None:
        raise NotImplementedError


class OursWriter(Writer):
    def __init__(self, store: EventStore, prefix: str):
        self.store = store
        self.prefix = prefix
        self.stream_no = 0
        self.version = 0
        self.seq = 0
        self.stream_id = f"{prefix}-0"

    def append_batch(self, size: int) -> None:
        if self.version + size > EVENTS_PER_STREAM:
            self.stream_no += 1
            self.stream_id = f"{self.prefix}-{self.stream_no}"
            self.version = 0
        events = []
        for _ in range(size):
            self.seq += 1
            events.append(NewEvent(EVENT_TYPE, payload(self.seq)))
        self.store.append(self.stream_id, events, expected_version=self.version)
        self.version += size


class BaselineWriter(Writer):
    def __init__(self, recorder: PostgresApplicationRecorder):
        self.recorder = recorder
        self.version = 0
        self.seq = 0
        self.originator_id = uuid.uuid4()

    def append_batch(self, size: int) -> None:
        if self.version + size > EVENTS_PER_STREAM:
            self.originator_id = uuid.uuid4()
            self.version = 0
        events = []
        for i in range(size):
            self.seq += 1
            events.append(
                StoredEvent(
                    originator_id=self.originator_id,
                    originator_version=self.version + i + 1,
                    topic=BASELINE_TOPIC,
                    state=json.dumps(payload(self.seq)).encode(),
                )
            )
        self.recorder.insert_events(events)
        self.version += size


@dataclass
class Subject:
    name: str
    new_writer: Callable[[str], Writer]
    read_feed_pass: Callable[[], int]
    feed_length: Callable[[], int]


def ours_subject(store: EventStore) -> Subject:
    def read_feed_pass() -> int:
        after, count = 0, 0
        while True:
            page = store.read_all(after=after, limit=PAGE_SIZE)
            count += len(page)
            if len(page) < PAGE_SIZE:
                return count
            after = page[-1].position

    return Subject(
        name="ours",
        new_writer=lambda prefix: OursWriter(store, prefix),
        read_feed_pass=read_feed_pass,
        feed_length=store.head_position,
    )


def baseline_subject(recorder: PostgresApplicationRecorder) -> Subject:
    def read_feed_pass() -> int:
        after, count = 0, 0
        while True:
            page = recorder.select_notifications(
                start=after, limit=PAGE_SIZE, inclusive_of_start=False
            )
            count += len(page)
            if len(page) < PAGE_SIZE:
                return count
            after = page[-1].id

    return Subject(
        name="eventsourcing",
        new_writer=lambda prefix: BaselineWriter(recorder),
        read_feed_pass=read_feed_pass,
        feed_length=lambda: recorder.max_notification_id() or 0,
    )


# -- measuring -----------------------------------------------------------------------------------


def run_writers(writers: list[Writer], batch: int, seconds: float) -> tuple[int, float]:
    """Let every writer append batches for `seconds`; returns (events committed, seconds)."""
    barrier = threading.Barrier(len(writers) + 1)
    counts = [0] * len(writers)
    errors: list[BaseException] = []
    deadline = 0.0

    def work(i: int, writer: Writer) -> None:
        try:
            barrier.wait()
            n = 0
            while time.perf_counter() < deadline:
                writer.append_batch(batch)
                n += batch
            counts[i] = n
        except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
            errors.append(e)

    threads = [
        threading.Thread(target=work, args=(i, w), daemon=True) for i, w in enumerate(writers)
    ]
    for t in threads:
        t.start()
    started = time.perf_counter()
    deadline = started + seconds
    barrier.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return sum(counts), elapsed


def read_feed(subject: Subject, seconds: float) -> tuple[int, float]:
    """Full passes over the global feed until `seconds` are up; returns (events read,
    seconds)."""
    expected = subject.feed_length()
    read = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        n = subject.read_feed_pass()
        if n != expected:
            raise RuntimeError(f"{subject.name}: a feed pass read {n} events, head is {expected}")
        read += n
        if time.perf_counter() >= deadline:
            return read, time.perf_counter() - started


def paired_rates(ours: Callable[[float], tuple[int, float]],
                 baseline: Callable[[float], tuple[int, float]],
                 seconds: float, warmup: float) -> tuple[float, float]:
    """Events per second of each side, measured in SLICES alternating slices (ours first in
    odd rounds, the baseline first in even ones), `seconds` in all per side: both see the same
    machine, whatever else it is doing meanwhile (a shared disk's fsync times drift a lot)."""
    ours(warmup)
    baseline(warmup)
    totals = {"ours": [0, 0.0], "baseline": [0, 0.0]}
    sides = {"ours": ours, "baseline": baseline}
    for round_ in range(SLICES):
        for side in (("ours", "baseline") if round_ % 2 == 0 else ("baseline", "ours")):
            events, elapsed = sides[side](seconds / SLICES)
            totals[side][0] += events
            totals[side][1] += elapsed
    return totals["ours"][0] / totals["ours"][1], totals["baseline"][0] / totals["baseline"][1]


def append_rates(ours: Subject, baseline: Subject, cell: str, writers: int, batch: int,
                 seconds: float, warmup: float) -> tuple[float, float]:
    ours_pool, baseline_pool = ([side.new_writer(f"bench-{cell}-w{i}") for i in range(writers)]
                                for side in (ours, baseline))
    return paired_rates(lambda s: run_writers(ours_pool, batch, s),
                        lambda s: run_writers(baseline_pool, batch, s), seconds, warmup)


def top_up(subject: Subject, target: int) -> None:
    """Append until the feed holds `target` events, so both feeds are read at the same size."""
    missing = target - subject.feed_length()
    writer = subject.new_writer("bench-topup")
    while missing > 0:
        batch = min(missing, EVENTS_PER_STREAM)
        writer.append_batch(batch)
        missing -= batch


# -- databases -----------------------------------------------------------------------------------


def create_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def drop_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def server_version(admin_url: str) -> str:
    admin = create_engine(admin_url)
    try:
        with admin.connect() as conn:
            return conn.execute(text("SHOW server_version")).scalar_one()
    finally:
        admin.dispose()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def nproc() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# -- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL,
                        help="a PostgreSQL server URL, to a database we may connect to")
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per cell")
    args = parser.parse_args(argv)
    seconds = args.seconds
    warmup = min(0.5, seconds / 4)

    admin_url = normalize_url(args.pg_url)
    base: URL = make_url(admin_url)
    tag = uuid.uuid4().hex[:10]
    ours_db = f"storywire_bench_ours_{tag}"
    baseline_db = f"storywire_bench_es_{tag}"

    print("storywire event store benchmark")
    print(f"  machine     : {nproc()} CPUs ({cpu_model()}), {platform.system()} "
          f"{platform.release()}, Python {platform.python_version()}")
    local = base.host in ("127.0.0.1", "localhost", "::1")
    print(f"  PostgreSQL  : {server_version(admin_url)} at {base.host}:{base.port or 5432} "
          f"(client and server {'on the same host' if local else 'over the network'})")
    print(f"  baseline    : eventsourcing {metadata.version('eventsourcing')} "
          "PostgresApplicationRecorder")
    print(f"  workload    : {seconds:g} s per cell after {warmup:g} s warm-up; "
          f"{PAYLOAD_BYTES}-byte JSON payloads; a new stream every {EVENTS_PER_STREAM} events")
    print(flush=True)

    datastore: PostgresDatastore | None = None
    ours_url = base.set(database=ours_db).render_as_string(hide_password=False)
    created: list[str] = []
    try:
        create_database(admin_url, ours_db)
        created.append(ours_db)
        create_database(admin_url, baseline_db)
        created.append(baseline_db)

        engine = get_engine(ours_url)
        upgrade("story", engine)
        ours = ours_subject(EventStore(engine))

        datastore = PostgresDatastore(
            dbname=baseline_db,
            host=base.host or "127.0.0.1",
            port=base.port or 5432,
            user=base.username or "postgres",
            password=base.password or "",
            pool_size=max(WRITER_COUNTS) + 1,
            max_overflow=max(WRITER_COUNTS),
        )
        recorder = PostgresApplicationRecorder(datastore)
        recorder.create_table()
        baseline = baseline_subject(recorder)

        rows: list[tuple[str, float, float]] = []
        for writers in WRITER_COUNTS:
            for batch in BATCH_SIZES:
                label = f"append batch={batch:<2} writers={writers}"
                cell = f"b{batch}w{writers}"
                rows.append((label, *append_rates(ours, baseline, cell, writers, batch,
                                                  seconds, warmup)))
                print(f"  done: {label}", file=sys.stderr, flush=True)

        target = max(ours.feed_length(), baseline.feed_length())
        top_up(ours, target)
        top_up(baseline, target)
        assert ours.feed_length() == baseline.feed_length() == target
        rows.append((f"feed read {target} events, pages of {PAGE_SIZE}",
                     *paired_rates(lambda s: read_feed(ours, s), lambda s: read_feed(baseline, s),
                                   seconds, warmup)))
        print("  done: feed read", file=sys.stderr, flush=True)

        print_table(rows)
    finally:
        if datastore is not None:
            datastore.close()
        dispose_engine(ours_url)
        for name in created:
            drop_database(admin_url, name)
    return 0


def print_table(rows: list[tuple[str, float, float]]) -> None:
    head = ("workload", "ours ev/s", "eventsourcing ev/s", "ours/baseline")
    width = max(len(head[0]), *(len(r[0]) for r in rows))
    line = f"{head[0]:<{width}}  {head[1]:>10}  {head[2]:>18}  {head[3]:>13}"
    print(line)
    print("-" * len(line))
    for label, ours_rate, base_rate in rows:
        ratio = ours_rate / base_rate if base_rate else float("nan")
        print(f"{label:<{width}}  {ours_rate:>10,.0f}  {base_rate:>18,.0f}  {ratio:>12.2f}x")


if __name__ == "__main__":
    sys.exit(main())
