"""The ceiling of the single serialized append, and what fencing appends by a shard lease costs.

Every append to the event store, from any story-service instance, takes the same EXCLUSIVE
lock on `events` (so that positions commit in order and the feed has no gaps): adding writers
adds no appends past the rate one lock holder reaches. This bench measures that rate: appends
per second (and events per second) from 1, 2, 4, 8 and 16 writer threads at once, each with
its own streams and the right expected version, with 1 and 5 events an append (5: about what
one article brings a story). Each cell runs the plain append (`storywire_append`, the baseline)
and the fenced append of shared stories (`storywire_append_fenced`, which also checks the
shard's lease under the lock) in alternating slices of the same run.

    .venv/bin/python bench/append_ceiling.py [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]
                                             [--seconds 2]
"""

import argparse
import json
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.db import dispose_engine, get_engine  # noqa: E402
from shared.eventstore import EventStore, NewEvent  # noqa: E402
from shared.migrate import upgrade  # noqa: E402

WRITERS = (1, 2, 4, 8, 16)
BATCHES = (1, 5)
SLICES = 4
SHARDS = 16


def payload(seq: int) -> dict:
    return {"article_id": f"art-{seq:012d}", "story": "guzman-detention-conditions",
            "headline": "Judge weighs limits on visits in Manhattan jail", "seq": seq}


def run_cell(store: EventStore, writers: int, batch: int, fenced: bool, seconds: float,
             tag: str) -> int:
    """Appends done by `writers` threads in `seconds`."""
    stop = threading.Event()
    done = [0] * writers

    def write(n: int) -> None:
        version, seq = 0, 0
        stream = f"bench:{tag}:{n}:{uuid.uuid4().hex[:8]}"
        fence = (n % SHARDS, 1) if fenced else None
        while not stop.is_set():
            events = []
            for _ in range(batch):
                seq += 1
                events.append(NewEvent("ArticleLinked", payload(seq)))
            store.append(stream, events, version, fence=fence)
            version += batch
            done[n] += 1

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(done)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--seconds", type=float, default=2.0, help="measured seconds per cell")
    args = parser.parse_args()
    name = f"storywire_bench_ceiling_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(args.pg_url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = args.pg_url.rsplit("/", 1)[0] + "/" + name
    try:
        engine = get_engine(url)
        upgrade("story", engine)
        with psycopg.connect(url, autocommit=True) as conn:
            for shard in range(SHARDS):
                conn.execute("INSERT INTO story_shard_leases VALUES (%s, 1, 'bench', "
                             "'http://bench', %s, NULL)", (shard, datetime.now(UTC)))
        store = EventStore(engine)
        run_cell(store, 2, 1, False, 0.5, "warm")
        print(f"append ceiling: {os.cpu_count()} CPUs, PostgreSQL "
              f"{admin.info.server_version // 10000}, {args.seconds:g} s a cell in "
              f"{SLICES} alternating slices (plain, fenced)")
        print(f"{'writers':>7} {'events':>6} | {'plain appends/s':>15} {'events/s':>9} | "
              f"{'fenced appends/s':>16} {'events/s':>9} | fenced/plain")
        found = {}
        for batch in BATCHES:
            for writers in WRITERS:
                totals = {False: 0, True: 0}
                for i in range(SLICES):
                    for fenced in ((False, True) if i % 2 == 0 else (True, False)):
                        totals[fenced] += run_cell(store, writers, batch, fenced,
                                                   args.seconds / SLICES, f"{writers}-{batch}")
                plain, fenced = (totals[f] / args.seconds for f in (False, True))
                found[f"{writers}x{batch}"] = {"plain": round(plain), "fenced": round(fenced)}
                print(f"{writers:>7} {batch:>6} | {plain:>15,.0f} {plain * batch:>9,.0f} | "
                      f"{fenced:>16,.0f} {fenced * batch:>9,.0f} | {fenced / plain:.2f}x",
                      flush=True)
        print(json.dumps(found))
    finally:
        dispose_engine(url)
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
