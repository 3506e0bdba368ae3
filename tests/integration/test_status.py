"""`storywire status`: the outbox, parked articles, the notifier's lag and deliveries, read from
the databases of a real installation (SQLite and PostgreSQL)."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from services import status
from services.ingest import store
from shared.db import get_engine
from shared.migrate import upgrade


def article(n: int) -> dict:
    return {"outlet": "Wire", "url": f"https://wire.example/{n}", "title": f"Item {n}",
            "published_at": datetime(2017, 5, 4, 20, tzinfo=UTC), "body": f"Body {n}."}


def test_status_reports_the_outbox_parked_articles_and_lag(db_url):
    env = {**os.environ, "STORYWIRE_DATABASE_URL": db_url}
    migrated = subprocess.run([sys.executable, "-m", "services.cli", "migrate"], env=env,
                              capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    engine = get_engine(db_url)
    upgrade("ingest", engine)
    for n in range(3):
        store.accept_article(engine, article(n))
    poison = store.due_messages(engine, 1, datetime.now(UTC) + timedelta(seconds=1))[0][0]
    assert store.mark_failed(engine, poison.id, "HTTP 500", timedelta(0), park_after=1)

    result = subprocess.run([sys.executable, "-m", "services.cli", "status", "--json"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["outbox"]["pending"] == 2 and report["outbox"]["parked"] == 1
    assert report["outbox"]["oldest_pending"] is not None
    assert report["feed_head"] >= 1 and report["notify_position"] == 0
    assert report["notify_lag"] == report["feed_head"]

    text = subprocess.run([sys.executable, "-m", "services.cli", "status"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert text.returncode == 0 and "1 failed article(s)" in text.stdout, text.stdout


def test_status_lines_say_ages_and_lag():
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    report = {"outbox": {"pending": 4, "oldest_pending": now - timedelta(minutes=95),
                         "parked": 0},
              "feed_head": 120, "notify_position": 100,
              "deliveries": {"delivered": 7, "failed": 2}}
    said = status.lines(report, now)
    assert said[0].endswith("4 to forward (oldest 1h)")
    assert "redrive" not in said[1]
    assert said[2].endswith("(lag 20)")
    assert said[3].endswith("delivered 7, failed 2")


def test_status_without_a_database_is_one_line(tmp_path):
    env = {**os.environ, "STORYWIRE_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}
    result = subprocess.run([sys.executable, "-m", "services.cli", "status"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("storywire status: cannot use the database")
    assert len(result.stderr.strip().splitlines()) == 1
