"""httpx client for the story service, as ingest uses it."""

import httpx


class StoryClient:
    def __init__(self, http: httpx.AsyncClient):
        self.http = http

    async def attach_article(self, article: dict) -> dict:
        """Forward one article; the story service treats a repeat of the same id as a no-op."""
        response = await self.http.post("/v1/articles", json=article)
        response.raise_for_status()
        return response.json()
