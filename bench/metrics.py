"""What counting a request costs: a bare FastAPI endpoint called straight through ASGI, against
the same app inside `Measured` (the middleware behind storywire_http_requests_total and
storywire_http_request_duration_seconds), with values in the process and in multiprocess mode
(PROMETHEUS_MULTIPROC_DIR, as `storywire serve` runs). Also the time a scrape takes.

    .venv/bin/python bench/metrics.py [--requests 5000] [--rounds 7]

Each mode runs in a child process of its own (prometheus_client reads the variable once);
bare and measured alternate in rounds within it, and the fastest round of each counts.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(requests: int, rounds: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from fastapi import FastAPI

    from shared import metrics
    from shared.web import Measured

    app = FastAPI()

    @app.get("/v1/stories/{slug}")
    async def read_story(slug: str) -> dict:
        return {"slug": slug}

    measured = Measured(app)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": "/v1/stories/guzman",
             "raw_path": b"/v1/stories/guzman", "root_path": "", "query_string": b"",
             "headers": [], "server": ("127.0.0.1", 8002), "client": ("127.0.0.1", 1)}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    async def run(target) -> float:
        started = time.perf_counter()
        for _ in range(requests):
            await target(dict(scope), receive, send)
        return time.perf_counter() - started

    async def main():
        await run(app)  # warm up both
        await run(measured)
        bare, counted = [], []
        for _ in range(rounds):
            bare.append(await run(app))
            counted.append(await run(measured))
        return min(bare), min(counted)

    bare, counted = asyncio.run(main())
    started = time.perf_counter()
    for _ in range(50):
        metrics.exposition()
    scrape = (time.perf_counter() - started) / 50
    return {"bare": requests / bare, "measured": requests / counted,
            "overhead_us": (counted - bare) / requests * 1e6, "scrape_ms": scrape * 1000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.requests, args.rounds)))
        return
    for mode in ("in process", "multiprocess"):
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        with tempfile.TemporaryDirectory() as directory:
            if mode == "multiprocess":
                env["PROMETHEUS_MULTIPROC_DIR"] = directory
            out = subprocess.run([sys.executable, __file__, "--child", "--requests",
                                  str(args.requests), "--rounds", str(args.rounds)], env=env,
                                 capture_output=True, text=True, check=True).stdout
        r = json.loads(out)
        print(f"{mode:13} bare {r['bare']:9,.0f} req/s  measured {r['measured']:9,.0f} req/s  "
              f"ratio {r['measured'] / r['bare']:.2f}  +{r['overhead_us']:.1f} µs/request  "
              f"scrape {r['scrape_ms']:.1f} ms")


if __name__ == "__main__":
    main()
