"""Digest windows: when a subscriber's hourly, daily or weekly digest falls due, in its own
time zone. Pure: no I/O."""

from datetime import UTC, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

RATES = ("realtime", "hourly", "daily", "weekly")
DIGEST_RATES = RATES[1:]


def parse_clock(value: str) -> clock:
    """"HH:MM" on a 24-hour clock; ValueError otherwise."""
    hours, _, minutes = value.partition(":")
    if len(hours) != 2 or len(minutes) != 2:
        raise ValueError("expected HH:MM")
    return clock(int(hours), int(minutes))


def window_end(rate: str, digest_time: str, weekday: int, time_zone: str,
               now: datetime) -> datetime:
    """The latest digest boundary at or before `now`, in UTC.

    Daily and weekly boundaries are the local wall-clock time (a digest at 08:00 stays at 08:00
    across a daylight-saving change); hourly ones fall at that minute of every hour."""
    zone = ZoneInfo(time_zone)
    at = parse_clock(digest_time)
    candidates = []
    if rate == "hourly":
        hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        for k in range(-3, 2):
            local = (hour + timedelta(hours=k)).astimezone(zone)
            candidates.append(local.replace(minute=at.minute))
    else:
        today = now.astimezone(zone).date()
        for k in range(0, 9):
            day = today - timedelta(days=k)
            if rate == "daily" or day.weekday() == weekday:
                candidates.append(datetime.combine(day, at, tzinfo=zone))
    due = [c.astimezone(UTC) for c in candidates if c.astimezone(UTC) <= now]
    return max(due)


def window(rate: str, digest_time: str, weekday: int, time_zone: str,
           now: datetime) -> tuple[datetime, datetime]:
    """(start, end] of the last window that has closed at `now`."""
    end = window_end(rate, digest_time, weekday, time_zone, now)
    start = window_end(rate, digest_time, weekday, time_zone, end - timedelta(microseconds=1))
    return start, end
