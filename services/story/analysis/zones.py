"""The zone a story's relative days are read in: its own `time_zone`, else the zone of the
court or place it names (`zones.json`), else UTC. "Friday" in an article published at 9 p.m.
on a Thursday in New York (early Friday in UTC) is that Friday, not the next one."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from .model import StoryDefinition
from .text import fold

ZONES_FILE = Path(__file__).with_name("zones.json")


@cache
def _places() -> tuple[re.Pattern, dict[str, str]]:
    data = json.loads(ZONES_FILE.read_text(encoding="utf-8"))["places"]
    zone_of = {place: zone for zone, places in data.items() for place in places}
    names = sorted(zone_of, key=len, reverse=True)      # "new york" before "york"
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b")
    return pattern, zone_of


@cache
def _zone_named_in(text: str) -> str | None:
    pattern, zone_of = _places()
    m = pattern.search(text)
    return zone_of[m.group(0)] if m else None


@lru_cache(maxsize=4096)
def story_zone(story: StoryDefinition) -> ZoneInfo:
    """The story's own zone, or the zone of the first place its definition names."""
    if story.time_zone:
        try:
            return ZoneInfo(story.time_zone)
        except (KeyError, ValueError):
            pass
    for text in (story.title, story.description, " ; ".join(story.keywords),
                 " ; ".join(story.entities)):
        zone = _zone_named_in(fold(text).lower())
        if zone:
            return ZoneInfo(zone)
    return ZoneInfo("UTC")


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    """The calendar day `moment` falls on where the story happens."""
    return moment.astimezone(zone).date()


NEWS_DAY_BEGINS = time(10)    # local time before which a report's news is the day before's


def news_day(moment: datetime, zone: ZoneInfo) -> date:
    """The day a report's news told without a day most likely happened: the day it is
    published, or the day before when it is published before courts sit (a morning paper,
    or a story filed after midnight, tells of yesterday's ruling, arrest or release)."""
    local = moment.astimezone(zone)
    return local.date() - timedelta(days=1) if local.time() < NEWS_DAY_BEGINS else local.date()
