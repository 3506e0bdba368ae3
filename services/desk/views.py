"""What the desk's pages show, computed from read models and events. Pure: no I/O."""

from collections.abc import Iterable
from urllib.parse import urlencode

from services.story import events as ev


def timeline_filters(items: list[dict]) -> dict[str, list[str]]:
    """The types and outcomes a timeline holds, for its filter form."""
    return {"types": sorted({d["type"] for d in items}),
            "outcomes": sorted({d["outcome"] for d in items if d.get("outcome")})}


def filter_timeline(items: list[dict], type_: str | None, outcome: str | None) -> list[dict]:
    return [d for d in items if (not type_ or d["type"] == type_)
            and (not outcome or d.get("outcome") == outcome)]


def article_tree(articles: Iterable[dict]) -> list[dict]:
    """Articles in the order they arrived, each copy under the article it copies (the first
    of its chain that is shown); a copy of an article not shown stands alone."""
    articles = list(articles)
    by_id = {a["id"]: a for a in articles}

    def original(article: dict) -> dict:
        seen = {article["id"]}
        while article["duplicate_of"] in by_id and article["duplicate_of"] not in seen:
            article = by_id[article["duplicate_of"]]
            seen.add(article["id"])
        return article

    copies: dict[str, list[dict]] = {}
    roots = []
    for article in articles:
        root = original(article)
        if root is article:
            roots.append(article)
        else:
            copies.setdefault(root["id"], []).append(article)
    return [{**a, "copies": copies.get(a["id"], [])} for a in roots]


def sentences(analysis: dict, articles: dict[str, dict]) -> list[dict]:
    """An article's sentences, each new or known; a known one names the earlier article (and
    its sentence) it repeats, when the story holds it."""
    shown = []
    for sentence in analysis.get("sentences", ()):
        match = sentence.get("match") if sentence["known"] else None
        earlier = articles.get(match["article_id"]) if match else None
        shown.append({"text": sentence["text"], "index": sentence["index"],
                      "known": sentence["known"], "new_names": sentence.get("new_names", []),
                      "repeats": {"article_id": match["article_id"],
                                  "sentence_index": match["sentence_index"],
                                  "outlet": earlier["outlet"], "title": earlier["title"]}
                      if earlier else None})
    return shown


def analysis_in(events: Iterable, article_id: str) -> dict:
    """What a story's analysis of an article recorded, among its events ({} if none)."""
    return next((e.data["analysis"] for e in events if e.type == ev.ARTICLE_ANALYZED
                 and e.data["analysis"]["article_id"] == article_id), {})


def considered_unrouted(events: Iterable, slug: str) -> list[dict]:
    """Articles on no story that this story weighed (newest first), with its score."""
    found = [{**e.data["article"], "score": e.data["scores"][slug]} for e in events
             if e.type == ev.ARTICLE_UNROUTED and slug in e.data.get("scores", {})]
    return found[::-1]


def story_row(view) -> dict:
    """A story in the stories list: its brief, its latest development and last change."""
    latest = view.developments[-1] if view.developments else None
    return {**view.brief(), "latest": latest}


def time_travel(as_of: str | None, known_at: str | None) -> dict[str, str]:
    """The query of a past view (empty for now)."""
    return {k: v for k, v in (("as_of", as_of), ("known_at", known_at)) if v}


def query(params: dict[str, str | None]) -> str:
    """`?a=b&...` of the parameters that are set, or ""."""
    kept = {k: v for k, v in params.items() if v}
    return "?" + urlencode(kept) if kept else ""


def lines(text: str) -> list[str]:
    """A text field's lines (a form's list of entities or keywords), stripped, blanks out."""
    return [line.strip() for line in text.splitlines() if line.strip()]
