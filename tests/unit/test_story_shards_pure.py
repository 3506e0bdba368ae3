"""The pure decisions of shared story shards: fair shares, what to take and let go, where a
batch's shards are written."""

from services.story.shards import fair_share, plan, split_by_owner
from shared.settings import Settings


def test_the_fair_share_covers_every_shard():
    assert [fair_share(8, m) for m in (0, 1, 2, 3, 8, 9)] == [8, 8, 4, 3, 1, 1]
    assert all(m * fair_share(s, m) >= s for s in range(1, 20) for m in range(1, 10))


def test_alone_an_instance_takes_every_shard_from_its_starting_place():
    take, release = plan(4, 1, set(), set(), start=2)
    assert take == [2, 3, 0, 1] and release == []


def test_a_second_instance_takes_nothing_held_and_the_first_lets_go_of_its_surplus():
    assert plan(4, 2, set(), {0, 1, 2, 3}, start=0) == ([], [])
    take, release = plan(4, 2, {0, 1, 2, 3}, set(), start=1)
    assert take == [] and release == [0, 3]  # the last two from where it starts
    assert plan(4, 2, set(), {1, 2}, start=0) == ([0, 3], [])


def test_shards_of_an_instance_that_left_are_taken_by_the_ones_below_their_share():
    assert plan(6, 1, {0, 1, 2}, set(), start=0) == ([3, 4, 5], [])  # the other died
    assert plan(6, 3, {0, 1}, {2, 3}, start=0) == ([], [])  # at its share: leaves 4, 5
    assert plan(6, 3, set(), {0, 1, 2, 3}, start=5) == ([5, 4], [])


def test_a_batch_splits_into_shards_held_here_forwarded_and_to_take():
    here, there, unowned = split_by_owner({0, 1, 2, 3, 4}, {0}, {
        0: "http://me", 1: "http://b", 2: "http://b", 3: "http://me"}, "http://me")
    assert here == {0} and there == {"http://b": {1, 2}}
    assert unowned == {3, 4}  # a lease of this instance's past, and one never taken


def test_story_url_may_list_several_instances():
    settings = Settings(story_url="http://a:8002, http://b:8002")
    assert settings.story_urls() == ["http://a:8002", "http://b:8002"]
    assert Settings().story_urls() == ["http://127.0.0.1:8002"]
