"""Which subscriptions want a development, and what the alert says. Pure: no I/O."""

from datetime import datetime

DEVELOPMENT_DETECTED = "DevelopmentDetected"
ALERT_TYPE = "story.development"
DIGEST_TYPE = "story.digest"
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


def digest_body(alerts: list[dict], start: datetime, end: datetime, timestamp: datetime) -> dict:
    """A digest: the `data` of each alert in the window, in feed order."""
    return {
        "type": DIGEST_TYPE,
        "version": ALERT_VERSION,
        "timestamp": timestamp.isoformat(),
        "data": {"window": {"start": start.isoformat(), "end": end.isoformat()},
                 "alerts": sorted(alerts, key=lambda a: a["event_position"])},
    }


def sample_alert_body(public_url: str, timestamp: datetime) -> dict:
    """A sample alert a subscriber can ask for to check its endpoint; marked `test`."""
    sample = {
        "story": "storywire-test", "story_title": "storywire test alert",
        "development": {"id": "test", "type": "ruling", "outcome": "granted",
                        "date": timestamp.date().isoformat(),
                        "summary": "A test alert: nothing happened.",
                        "evidence": "This is a test alert sent at your request."},
        "article": {"id": "test", "outlet": "storywire", "url": public_url,
                    "title": "storywire test alert", "published_at": timestamp.isoformat()},
    }
    body = alert_body(sample, 0, "you asked for a test alert", public_url, timestamp)
    body["data"]["test"] = True
    return body


def alert_ids(payload: dict) -> dict[str, str]:
    """The ids an alert's log lines carry: its story, development and article (a digest,
    which holds many, none)."""
    if payload.get("type") != ALERT_TYPE:
        return {}
    data = payload["data"]
    sources = data.get("sources") or [{}]
    return {"story": data["story"]["slug"], "development_id": data["development"]["id"],
            "article_id": sources[0].get("id")}


def alerts_of(payload: dict) -> list[dict]:
    """The alerts a delivery's payload carries: one, or a digest's list."""
    if payload["type"] == DIGEST_TYPE:
        return payload["data"]["alerts"]
    return [payload["data"]]


def headline(alert: dict) -> str:
    development = alert["development"]
    what = development["type"] + (f" {development['outcome']}" if development.get("outcome")
                                  else "")
    when = f" ({development['date']})" if development.get("date") else ""
    return f"{alert['story']['title']}: {what}{when}"


def subject(payload: dict) -> str:
    alerts = alerts_of(payload)
    if payload["type"] == DIGEST_TYPE:
        return f"storywire digest: {len(alerts)} development{'s' if len(alerts) != 1 else ''}"
    return headline(alerts[0])
