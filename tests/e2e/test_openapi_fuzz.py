"""The three services as real processes on a fresh PostgreSQL database, with an API key, fuzzed
by schemathesis from their own OpenAPI documents (fixed seed, a bounded number of examples per
operation, every check but the one schemathesis.toml explains): no server error, no status or
content type the document does not list, responses that match their schemas."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import serve_stack, stack_env

pytestmark = [pytest.mark.e2e, pytest.mark.fuzz]

KEY = "fuzz-operator-key-not-a-secret"
SEED = 20261203
EXAMPLES = 50                   # per operation and phase; the three runs take about a minute
CONFIG = Path(__file__).with_name("schemathesis.toml")
# The live stream never ends by design: its answers are covered by tests/integration.
EXCLUDE = r"/stream$"


def schemathesis(port: int, report: Path) -> list[str]:
    return [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run",
            f"http://127.0.0.1:{port}/openapi.json",
            "--header", f"Authorization: Bearer {KEY}", "--seed", str(SEED),
            "--max-examples", str(EXAMPLES), "--exclude-path-regex", EXCLUDE,
            "--request-timeout", "30", "--no-color", "--report", "json",
            "--report-json-path", str(report)]


def test_no_server_error_nor_undocumented_answer(pg_url, redis_url, processes, tmp_path,
                                               capsys):
    # no worker or beat runs: nothing registered is ever fetched or sent to; private
    # addresses allowed so that checking a generated URL never waits on DNS
    env, ports = stack_env(pg_url, redis_url, KEY, STORYWIRE_ALLOW_PRIVATE_URLS="true")
    servers = serve_stack(processes, env, ports)

    runs = {}
    for name, port in ports.items():       # the three at once, each against its service
        report = tmp_path / f"{name}.json"
        log = open(tmp_path / f"{name}-schemathesis.txt", "w")  # noqa: SIM115 - closed below
        runs[name] = (subprocess.Popen(schemathesis(port, report), stdout=log,
                                       stderr=subprocess.STDOUT, cwd=tmp_path), log, report)
    failed = []
    for name, (proc, log, report) in runs.items():
        try:
            proc.wait(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()
        output = (tmp_path / f"{name}-schemathesis.txt").read_text(errors="replace")
        assert report.exists(), f"{name}: schemathesis wrote no report\n{output[-3000:]}"
        result = json.loads(report.read_text())
        cases = result["test_cases"]
        with capsys.disabled():     # shown in every run, not only when the test fails
            print(f"\nschemathesis {name}: {result['operations']['tested']} operations, "
                  f"{cases['generated']} examples, {cases['unique_failures']} failures "
                  f"({result['running_time']:.0f} s, seed {result['seed']})")
        if result["failures"] or result["errors"] or proc.returncode != 0:
            failed.append(f"== {name}: " + "; ".join(
                f"{f['code']} {f['title']} x{f['count']}: {', '.join(f['operations'])}"
                for f in result["failures"]) + "\n" + _failures_section(output))
    for name, server in servers.items():
        assert KEY not in server.output(), f"{name} logged the API key"
    assert not failed, "\n\n".join(failed)


def _failures_section(output: str) -> str:
    """The FAILURES and ERRORS part of schemathesis' output (each failure with its curl)."""
    start = output.find("= FAILURES =")
    if start < 0:
        start = output.find("= ERRORS =")
    end = output.find("= SUMMARY =")
    return output[start:end if end > 0 else None][-20000:] if start >= 0 else output[-5000:]
