"""The `storywire` command reports bad input and unreachable services in one line on stderr
with a non-zero exit, never a traceback (unless --debug)."""

import json
import socket
import subprocess
import sys

import pytest

SEED_STORY = {"title": "Test story", "entities": ["Ann Roe"], "keywords": ["bail"]}
ARTICLE = {"id": "a1", "outlet": "Wire", "url": "https://wire.example/a1", "title": "Ann Roe",
           "published_at": "2024-05-02T15:00:00Z", "body": "Ann Roe was refused bail."}


def storywire(*args, env=None):
    return subprocess.run([sys.executable, "-m", "services.cli", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def one_line_error(result, *expected):
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def write(path, data):
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_version():
    result = storywire("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("storywire ") and result.stdout.split()[1][0].isdigit()


def test_a_missing_story_file(tmp_path):
    article = write(tmp_path / "a.json", ARTICLE)
    line = one_line_error(storywire("analyze", "--story-file", str(tmp_path / "missing.json"),
                                    article), "missing.json", "no such file")
    assert line.startswith("storywire analyze:")


@pytest.mark.parametrize("content, expected", [
    ('{"title": "X",', "invalid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ("{}", "title"),
    ('{"title": "   "}', "title"),
    ('{"title": "X", "entities": [""]}', "entities"),
    ('{"title": "X", "time_zone": "Mars/Olympus"}', "time_zone"),
])
def test_a_story_file_it_cannot_use(tmp_path, content, expected):
    story = write(tmp_path / "story.json", content)
    article = write(tmp_path / "a.json", ARTICLE)
    assert one_line_error(storywire("analyze", "--story-file", story, article), expected,
                          "story.json")


@pytest.mark.parametrize("article, expected", [
    ({**ARTICLE, "published_at": "yesterday"}, "published_at"),
    ({k: v for k, v in ARTICLE.items() if k != "id"}, "missing id"),
    ("\udcff", "not UTF-8"),
])
def test_an_article_file_it_cannot_use(tmp_path, article, expected):
    story = write(tmp_path / "story.json", SEED_STORY)
    path = tmp_path / "a.json"
    if isinstance(article, str):
        path.write_bytes(b"\xff\xfe{")
    else:
        write(path, article)
    one_line_error(storywire("analyze", "--story-file", story, str(path)), expected)


def test_a_directory_is_not_a_file(tmp_path):
    story = write(tmp_path / "story.json", SEED_STORY)
    one_line_error(storywire("analyze", "--story-file", story, str(tmp_path)), "directory")


def test_an_unreachable_database(tmp_path):
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    story = write(tmp_path / "story.json", SEED_STORY)
    article = write(tmp_path / "a.json", ARTICLE)
    one_line_error(storywire("analyze", "--db", url, "--story-file", story, article),
                   "cannot use the database")
    env = {**__import__("os").environ, "STORYWIRE_DATABASE_URL": url}
    one_line_error(storywire("replay", env=env), "cannot use the database")


def test_debug_shows_the_traceback(tmp_path):
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    story = write(tmp_path / "story.json", SEED_STORY)
    article = write(tmp_path / "a.json", ARTICLE)
    result = storywire("--debug", "analyze", "--db", url, "--story-file", story, article)
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_good_input_still_works(tmp_path):
    story = write(tmp_path / "story.json", {**SEED_STORY, "notes": "kept by the desk"})
    article = write(tmp_path / "a.json", ARTICLE)
    result = storywire("analyze", "--story-file", story, article)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[0])["id"] == "a1"


@pytest.mark.parametrize("command", [["status"], ["replay"], ["serve", "story"]])
def test_a_bad_setting(command):
    env = {**__import__("os").environ, "STORYWIRE_NOTIFY_URL": "notify-api:8003",
           "STORYWIRE_WEBHOOK_TIMEOUT": "sw_live_not-a-number"}
    result = storywire(*command, env=env)
    line = one_line_error(result, f"storywire {command[0]}:", "STORYWIRE_NOTIFY_URL",
                          "STORYWIRE_WEBHOOK_TIMEOUT", "valid number")
    assert result.returncode == 2
    assert "sw_live_" not in line  # a setting's value may be a secret: never shown


def test_a_bad_setting_with_debug_shows_the_traceback():
    env = {**__import__("os").environ, "STORYWIRE_STATUS_TIMEOUT": "0"}
    result = storywire("--debug", "status", env=env)
    assert result.returncode != 0 and "Traceback" in result.stderr
