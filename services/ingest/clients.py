"""httpx client for the story service, as ingest uses it."""

import httpx


class StoryClient:
    """The story service at one address, or at several instances (`urls`): a forward that
    cannot reach one (no connection, a timeout) goes to the next, and the client stays with
    the one that answered. Any instance takes any article (it hands the stories of shards
    it does not hold to their owners)."""

    def __init__(self, http: httpx.AsyncClient, urls: list[str] | None = None):
        self.http = http
        self.urls = urls if urls and len(urls) > 1 else None
        self._current = 0

    async def _post(self, path: str, json: dict) -> httpx.Response:
        if self.urls is None:
            return await self.http.post(path, json=json)
        for step in range(len(self.urls)):
            at = (self._current + step) % len(self.urls)
            try:
                response = await self.http.post(self.urls[at] + path, json=json)
            except httpx.TransportError:
                if step == len(self.urls) - 1:
                    raise
                continue
            self._current = at
            return response
        raise AssertionError("unreachable")

    async def attach_articles(self, articles: list[dict]) -> list[dict]:
        """Forward articles in order, one result each; the story service treats a repeat of
        an article id as a no-op that answers as the first time."""
        response = await self._post("/v1/articles:batch", {"articles": articles})
        response.raise_for_status()
        results = response.json()["results"]
        if [r["article_id"] for r in results] != [a["id"] for a in articles]:
            raise ValueError("the story service answered for other articles")
        return results

    async def ready(self) -> bool:
        """Whether the story service says it is ready (its `/readyz` answers ok)."""
        url = "/readyz" if self.urls is None else self.urls[self._current] + "/readyz"
        try:
            response = await self.http.get(url)
            return response.status_code == 200 and response.json().get("status") == "ok"
        except (httpx.HTTPError, ValueError, AttributeError):
            return False
