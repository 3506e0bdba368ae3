"""Two story-service instances sharing the stories (STORYWIRE_STORY_SHARDS=8) with real
processes: `storywire serve story` twice on different ports, one PostgreSQL, `storywire serve
ingest` whose relay knows both (STORY_URL lists them, the first first). During a burst of the
labelled corpus's articles (five stories), the instance the relay talks to is killed (-9).
The relay fails over to the other, which takes the dead one's shards once its session ends.
Once settled: every article attached exactly once to each story it belongs to, and no story
written by both instances at once (each event says which instance wrote it under which lease;
a story's events run in lease order, each within its lease's period)."""

import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
from conftest import free_port, migrate_stack, ready, scrape, stack_env, wait_until

from services.story.analysis.corpus import load_corpus
from services.story.offline import story_definition

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]

KEY = "shards-test-operator-key"
AUTH = {"authorization": f"Bearer {KEY}"}
CORPUS = Path(__file__).resolve().parents[1] / "corpus"
SHARDS = 4  # the corpus's stories are in shards 0, 2 and 3: two of four each, both write
PACE_SECONDS = 0.1


def held(port: int) -> float:
    try:
        return scrape(f"http://127.0.0.1:{port}/metrics").get(
            ("storywire_story_shards_held", frozenset()), 0.0)
    except httpx.HTTPError:
        return 0.0


def test_two_instances_share_the_stories_and_one_killed_loses_nothing(
        pg_url, redis_url, processes):
    stories = load_corpus(CORPUS)
    definitions = [story_definition(s.story) for s in stories]
    # each story's articles in date order, the stories taking turns: all go on through the burst
    queues = [sorted(s.articles, key=lambda a: a["published_at"]) for s in stories]
    articles = [{k: a[k] for k in ("outlet", "url", "title", "published_at", "body")}
                for turn in range(max(map(len, queues))) for q in queues if turn < len(q)
                for a in [q[turn]]]
    ports = {"a": free_port(), "b": free_port()}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    env, stack_ports = stack_env(pg_url, redis_url, KEY, STORYWIRE_STORY_SHARDS=str(SHARDS),
                                 STORYWIRE_STORY_LEASE_SECONDS="3",
                                 STORYWIRE_STORY_URL=f"{urls['a']},{urls['b']}")
    migrate_stack(env)
    story = {name: processes(f"story-{name}", [
        "-m", "services.cli", "serve", "story", "--port", str(port)],
        {**env, "STORYWIRE_STORY_INSTANCE_URL": urls[name]}) for name, port in ports.items()}

    def logs() -> str:
        return "\n".join(f"--- {name}\n{proc.output()[-3000:]}"
                         for name, proc in [*story.items(), ("ingest", ingest)])

    ingest = None
    for name, port in ports.items():
        wait_until(lambda p=port: ready(p), 30, what=f"story {name}\n{story[name].output()}")
    # the first took every shard; with two members it lets go of half, the second takes them
    wait_until(lambda: held(ports["a"]) == held(ports["b"]) == SHARDS / 2, 30,
               what="the shards to spread over both instances")
    with httpx.Client(headers=AUTH, timeout=30) as http:
        for definition in definitions:
            created = http.post(f"{urls['b']}/v1/stories", json=definition)
            assert created.status_code == 201, created.text

    ingest = processes("ingest", ["-m", "services.cli", "serve", "ingest", "--port",
                                  str(stack_ports["ingest"])], env)
    ingest_url = f"http://127.0.0.1:{stack_ports['ingest']}"
    wait_until(lambda: ready(stack_ports["ingest"]), 30, what=f"ingest\n{ingest.output()}")

    ids: list[str] = []

    def burst() -> None:
        with httpx.Client(headers=AUTH, timeout=30) as http:
            for article in articles:
                accepted = http.post(f"{ingest_url}/v1/articles", json=article)
                assert accepted.status_code in (200, 202), accepted.text
                ids.append(accepted.json()["id"])
                time.sleep(PACE_SECONDS)

    def statuses(http) -> dict[str, dict]:
        return {i: http.get(f"{ingest_url}/v1/articles/{i}").json() for i in list(ids)}

    with httpx.Client(headers=AUTH, timeout=30) as http, ThreadPoolExecutor(1) as pool:
        sent = pool.submit(burst)
        # kill the instance the relay forwards to once both have written some stories
        wait_until(lambda: sum(s["status"] == "attached" for s in statuses(http).values())
                   >= 10 or sent.done(), 120, interval=0.2, what=f"attachments\n{logs()}")
        assert not sent.done(), "the burst ended before the kill: slow it down"
        story["a"].kill()
        sent.result()
        assert len(set(ids)) == len(articles)

        def settled():
            found = statuses(http)
            return found if all(s["status"] != "accepted" for s in found.values()) else None

        try:
            final = wait_until(settled, 180, interval=1, what="every article forwarded")
        except pytest.fail.Exception as exc:
            pytest.fail(f"{exc}\n{logs()}", pytrace=False)
    assert held(ports["b"]) == SHARDS  # the survivor took the dead one's shards

    # every article attached exactly once to each story it belongs to
    assert {s["status"] for s in final.values()} <= {"attached", "unrouted"}, final
    expected = {(i, slug) for i, s in final.items() for slug in s.get("stories") or []}
    with psycopg.connect(pg_url) as conn:
        events = conn.execute(
            "SELECT stream_id, version, type, data, metadata, recorded_at FROM events "
            "WHERE stream_id LIKE 'story:%%' ORDER BY stream_id, version").fetchall()
        leases = {(shard, epoch): (holder, claimed) for shard, epoch, holder, claimed in
                  conn.execute("SELECT shard, epoch, holder, claimed_at "
                               "FROM story_shard_leases").fetchall()}
    attached = Counter((data["article"]["id"], stream.removeprefix("story:"))
                       for stream, _, type_, data, _, _ in events if type_ == "ArticleAttached")
    assert set(attached.values()) == {1}
    assert set(attached) == expected
    assert len(expected) > len(articles) // 2

    # no story written by both at once: by stream, the events of one lease, then the next
    # (each lease one instance's), each recorded after its lease was taken and before the
    # next lease of the shard was
    by_stream = defaultdict(list)
    for stream, version, type_, _, metadata, recorded_at in events:
        if type_ not in ("StoryDefined", "StoryArchived"):
            by_stream[stream].append((version, metadata["writer"], recorded_at))
    writers = set()
    for stream, written in by_stream.items():
        epochs = [w["lease"] for _, w, _ in written]
        assert epochs == sorted(epochs), stream
        for _, writer, recorded_at in written:
            holder, claimed = leases[(writer["shard"], writer["lease"])]
            assert writer["instance"] == holder
            assert recorded_at >= claimed
            later = [at for (shard, epoch), (_, at) in leases.items()
                     if shard == writer["shard"] and epoch > writer["lease"]]
            assert all(recorded_at <= at for at in later), (stream, writer)
            writers.add(holder)
    assert len(writers) == 2  # both instances wrote stories
    handed_over = [stream for stream, written in by_stream.items()
                   if len({w["instance"] for _, w, _ in written}) == 2]
    assert handed_over, leases  # a story of the killed instance went on at the other
