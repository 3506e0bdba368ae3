"""The metrics module: the gauges read at scrape time, the route labels, and the names the
Grafana dashboard and the Prometheus alert rules use, each one a metric storywire exports."""

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import missing
from prometheus_client import REGISTRY

from shared import metrics
from shared.web import method_label, route_label

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def exported_names() -> set[str]:
    """Every sample name storywire's metrics and scrape-time gauges can show."""
    gauges = {**metrics.outbox_gauges({"pending": 0, "oldest_pending": None, "parked": 0}),
              **metrics.queue_gauges({})}
    names = {name for name, _help, _labels in gauges}
    for family in REGISTRY.collect():
        if not family.name.startswith("storywire_"):
            continue
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names |= {family.name + suffix for suffix in ("_bucket", "_count", "_sum")}
        else:
            names.add(family.name)
    return names


def used_names(text: str) -> set[str]:
    return set(re.findall(r"\bstorywire_[a-z_]+\b", text))


def test_the_dashboard_charts_only_exported_metrics():
    dashboard = json.loads((DEPLOY / "grafana/dashboards/storywire.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    used = used_names(exprs)
    assert {"storywire_alert_latency_seconds_bucket", "storywire_feed_lag",
            "storywire_deliveries_total", "storywire_outbox_depth"} <= used
    assert used <= exported_names(), used - exported_names()


def test_the_alert_rules_use_only_exported_metrics():
    rules = (DEPLOY / "prometheus/alerts.yml").read_text()
    used = used_names(rules)
    assert {"storywire_outbox_oldest_age_seconds", "storywire_articles_parked",
            "storywire_feed_lag", "storywire_delivery_retries_total",
            "storywire_endpoints_disabled_total"} <= used
    assert used <= exported_names(), used - exported_names()


def test_promtool_accepts_the_alert_rules():
    promtool = shutil.which("promtool")
    if promtool is None:
        missing("promtool", "not installed; Debian: apt-get install prometheus")
    checked = subprocess.run([promtool, "check", "rules", str(DEPLOY / "prometheus/alerts.yml")],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_outbox_gauges_say_depth_age_and_parked():
    gauges = metrics.outbox_gauges({"pending": 4, "oldest_pending": NOW - timedelta(minutes=2),
                                    "parked": 1}, NOW)
    by_name = {name: samples for (name, _help, _labels), samples in gauges.items()}
    assert by_name == {"storywire_outbox_depth": [((), 4)],
                       "storywire_outbox_oldest_age_seconds": [((), 120.0)],
                       "storywire_articles_parked": [((), 1)]}
    empty = metrics.outbox_gauges({"pending": 0, "oldest_pending": None, "parked": 0}, NOW)
    assert empty[("storywire_outbox_oldest_age_seconds",
                  "Age of the oldest article waiting in the outbox (0 when it is empty)",
                  ())] == [((), 0.0)]


def test_seconds_since_reads_naive_times_as_utc_and_never_goes_negative():
    assert metrics.seconds_since(datetime(2026, 12, 4, 11, 59, 30), NOW) == 30.0
    assert metrics.seconds_since(NOW + timedelta(seconds=5), NOW) == 0.0


def test_a_failing_source_leaves_the_scrape_with_the_rest():
    def broken():
        raise ConnectionError("database restarting")

    registry = metrics.registry([metrics.ReadAtScrape("the outbox", broken),
                                 metrics.ReadAtScrape("queues", lambda: metrics.queue_gauges(
                                     {"storywire-notify": 3}))])
    assert registry.get_sample_value("storywire_celery_queue_length",
                                     {"queue": "storywire-notify"}) == 3
    assert registry.get_sample_value("storywire_outbox_depth") is None


def test_labels_are_route_templates_and_known_methods():
    class Route:
        path = "/v1/stories/{slug}"

    assert route_label({"route": Route()}) == "/v1/stories/{slug}"
    assert route_label({"path": "/v1/stories/guzman"}) == "unmatched"
    assert method_label("PATCH") == "PATCH"
    assert method_label("BREW") == "other"


def test_serve_and_worker_count_in_a_directory_of_their_own(tmp_path, monkeypatch):
    import os
    import subprocess
    import sys
    import tempfile

    from services import cli

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f"storywire-metrics-{gone}"   # a server killed before its exit handlers
    stale.mkdir()
    (stale / "counter_1.db").write_bytes(b"old")
    running = tmp_path / f"storywire-metrics-{os.getppid()}"  # another process's, still running
    running.mkdir()
    try:
        path = cli.count_in_multiprocess_dir()
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # this process counts in itself
    assert path == str(tmp_path / f"storywire-metrics-{os.getpid()}")
    assert os.path.isdir(path) and not stale.exists() and running.exists()

    given = tmp_path / "given"
    given.mkdir()
    (given / "histogram_7.db").write_bytes(b"an earlier run")
    (given / "notes.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(given))
    assert cli.count_in_multiprocess_dir() == str(given)
    assert sorted(p.name for p in given.iterdir()) == ["notes.txt"]
