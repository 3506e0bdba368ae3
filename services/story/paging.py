"""Cursor pagination over a story as of one version, so that pages never repeat or skip items
while the story keeps growing, and readable change summaries. Pure: no I/O."""

import base64
import binascii
import hashlib
import json

from services.story import events as ev

MAX_PAGE = 200


class BadCursor(ValueError):
    pass


def encode_cursor(version: int, offset: int) -> str:
    raw = json.dumps({"v": version, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        version, offset = int(data["v"]), int(data["o"])
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise BadCursor(cursor) from exc
    if version < 1 or offset < 0:
        raise BadCursor(cursor)
    return version, offset


def page(items: list, version: int, offset: int, limit: int) -> dict:
    chunk = items[offset:offset + limit]
    more = offset + limit < len(items)
    return {"items": chunk, "version": version, "total": len(items),
            "next_cursor": encode_cursor(version, offset + limit) if more else None}


def etag(slug: str, version: int, variant: str) -> str:
    digest = hashlib.sha1(f"{slug}:{version}:{variant}".encode()).hexdigest()[:16]
    return f'W/"{version}-{digest}"'


def stories_etag(versions: dict[str, int], variant: str) -> str:
    """A list of stories' tag: it changes when a story moves on, comes or goes."""
    listed = ",".join(f"{slug}@{version}" for slug, version in sorted(versions.items()))
    return etag("", sum(versions.values()), f"{variant}|{listed}")


def feed_etag(head: int, variant: str) -> str:
    """A page of the global feed's tag: what the feed held up to `head` decides the page."""
    return etag("", head, variant)


def etag_matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    given = {t.strip() for t in if_none_match.split(",")}
    return "*" in given or tag in given or tag.removeprefix("W/") in given


def changes(events: list[dict], since_version: int, version: int) -> dict:
    """What changed in a story between two versions, from its raw events."""
    developments, matters, facts, conflicts, articles, corroborated = [], [], [], [], [], 0
    redefined = False
    for event in events:
        data = event["data"]
        kind = event["type"]
        if kind == ev.DEVELOPMENT_DETECTED:
            developments.append({**data["development"], "source": data["article"]})
        elif kind == ev.MATTER_STATUS_CHANGED:
            matters.append({k: data.get(k) for k in
                            ("matter_id", "title", "from_status", "to_status", "date")})
        elif kind == ev.ARTICLE_ANALYZED:
            analysis = data["analysis"]
            facts += [{"text": s["text"], "article_id": analysis["article_id"]}
                      for s in analysis.get("sentences", ()) if not s["known"]]
        elif kind == ev.ARTICLE_ATTACHED:
            a = data["article"]
            articles.append({**{k: a[k] for k in ("id", "outlet", "title", "url",
                                                  "published_at")},
                             "revision_of": data.get("revision_of")})
        elif kind == ev.CONFLICT_FLAGGED:
            conflicts.append({"attribute": data["attribute"], "values": data["values"]})
        elif kind == ev.DEVELOPMENT_CORROBORATED:
            corroborated += 1
        elif kind in (ev.STORY_DEFINED, ev.STORY_ARCHIVED):
            redefined = True
    lines = [f"{len(articles)} new article(s), {len(developments)} new development(s), "
             f"{len(facts)} new fact(s), {corroborated} corroboration(s)."]
    lines += [f"New {d['type']}{' ' + d['outcome'] if d.get('outcome') else ''}"
              f"{' on ' + d['date'] if d.get('date') else ''}: {d.get('summary') or d['evidence']}"
              for d in developments]
    lines += [f"{m['title']}: {m['from_status'] or 'new'} -> {m['to_status']}" for m in matters]
    lines += [f"Sources disagree on {c['attribute']}: " +
              " vs ".join(repr(v["value"]) for v in c["values"]) for c in conflicts]
    if redefined:
        lines.append("The story's definition changed.")
    return {
        "since_version": since_version,
        "version": version,
        "summary": {"articles": articles, "new_developments": developments,
                    "matter_changes": matters, "new_facts": facts, "new_conflicts": conflicts,
                    "corroborations": corroborated, "definition_changed": redefined},
        "text": lines,
    }
