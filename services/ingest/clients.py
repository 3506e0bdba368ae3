"""httpx client for the story service, as ingest uses it."""

import httpx


class StoryClient:
    def __init__(self, http: httpx.AsyncClient):
        self.http = http

    async def attach_articles(self, articles: list[dict]) -> list[dict]:
        """Forward articles in order, one result each; the story service treats a repeat of
        an article id as a no-op that answers as the first time."""
        response = await self.http.post("/v1/articles:batch", json={"articles": articles})
        response.raise_for_status()
        results = response.json()["results"]
        if [r["article_id"] for r in results] != [a["id"] for a in articles]:
            raise ValueError("the story service answered for other articles")
        return results

    async def ready(self) -> bool:
        """Whether the story service says it is ready (its `/readyz` answers ok)."""
        try:
            response = await self.http.get("/readyz")
            return response.status_code == 200 and response.json().get("status") == "ok"
        except (httpx.HTTPError, ValueError, AttributeError):
            return False
