"""Which subscriptions want a development, and what the alert says. Pure: no I/O."""

from datetime import datetime

DEVELOPMENT_DETECTED = "DevelopmentDetected"
ALERT_TYPE = "story.development"
ALERT_VERSION = 1


def match_reason(stories: list, types: list, outcomes: list, event_data: dict) -> str | None:
    """Why a subscription with these filters gets this development, or None if it does not."""
    development = event_data["development"]
    reasons = []
    for name, wanted, value in (("story", stories, event_data["story"]),
                                ("type", types, development["type"]),
                                ("outcome", outcomes, development.get("outcome"))):
        if wanted:
            if value not in wanted:
                return None
            reasons.append(f"{name} is {value}")
    return "; ".join(reasons) if reasons else "subscribed to every development"


def alert_body(event_data: dict, position: int, reason: str, public_url: str,
               timestamp: datetime) -> dict:
    """The versioned webhook body: {type, version, timestamp, data}."""
    development = event_data["development"]
    story = event_data["story"]
    return {
        "type": ALERT_TYPE,
        "version": ALERT_VERSION,
        "timestamp": timestamp.isoformat(),
        "data": {
            "story": {
                "slug": story,
                "title": event_data.get("story_title", story),
                "timeline_url": f"{public_url.rstrip('/')}/v1/stories/{story}/timeline",
            },
            "development": {
                "id": development["id"],
                "type": development["type"],
                "outcome": development.get("outcome"),
                "date": development.get("date"),
                "summary": development.get("summary"),
                "evidence": development["evidence"],
            },
            "sources": [event_data["article"]],
            "reason": reason,
            "event_position": position,
        },
    }
