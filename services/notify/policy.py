"""What happens after a delivery attempt: delivered, retried later, or given up. Pure."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.notify.channels import SendResult
from services.notify.models import DELIVERED, FAILED, INTERRUPTED, PENDING, SENDING, STARTED

# Waits before attempts 2, 3, ...: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 24 h.
RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 86400)
# Waits up to this long are broker countdowns; longer ones are kept in the database and
# re-enqueued by the sweep. Well below the Redis visibility timeout (an hour).
COUNTDOWN_LIMIT = timedelta(minutes=10)


@dataclass(frozen=True)
class Outcome:
    status: str
    delay: timedelta | None = None
    disable_reason: str | None = None


def retry_wait(attempts_made: int, rng: random.Random | None = None) -> timedelta:
    base = RETRY_SCHEDULE[min(attempts_made - 1, len(RETRY_SCHEDULE) - 1)]
    return timedelta(seconds=base * (rng or random).uniform(0.9, 1.1))


def after_attempt(result: SendResult, attempts_made: int, max_attempts: int,
                  rng: random.Random | None = None) -> Outcome:
    """`attempts_made` counts the attempt just finished."""
    if result.ok:
        return Outcome(DELIVERED)
    if result.status_code == 410:
        return Outcome(FAILED, disable_reason="endpoint answered 410 Gone")
    if attempts_made >= max_attempts:
        return Outcome(FAILED)
    wait = retry_wait(attempts_made, rng)
    if result.status_code in (429, 503) and result.retry_after is not None:
        wait = max(wait, timedelta(seconds=result.retry_after))
    return Outcome(PENDING, delay=wait)


def use_countdown(delay: timedelta) -> bool:
    return delay <= COUNTDOWN_LIMIT


def failing_too_long(failing_since: datetime | None, now: datetime,
                     disable_after_hours: float) -> str | None:
    """The reason to disable an endpoint that has failed without a success for too long."""
    if failing_since is None or now - failing_since < timedelta(hours=disable_after_hours):
        return None
    return f"endpoint failing since {failing_since.isoformat(timespec='seconds')}"


def signing_secrets(secret: str, previous: str | None, previous_until: datetime | None,
                    now: datetime) -> list[str]:
    """The current secret, and the previous one while its grace period lasts."""
    if previous and previous_until and now < previous_until:
        return [secret, previous]
    return [secret]


def attempt_states(states: list[str], delivery_status: str, claimed_until: datetime | None,
                   now: datetime) -> list[str]:
    """The attempts' states as shown, oldest first: only the last attempt of a delivery whose
    claim still holds can be under way; any other started attempt was cut short."""
    live = delivery_status == SENDING and claimed_until is not None and claimed_until > now
    return [INTERRUPTED if state == STARTED and not (live and i == len(states) - 1) else state
            for i, state in enumerate(states)]
