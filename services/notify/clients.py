"""httpx client for the story service's global feed, as notify uses it."""

import httpx


class StoryFeedClient:
    def __init__(self, http: httpx.AsyncClient):
        self.http = http

    async def read_events(self, after: int, limit: int) -> dict:
        response = await self.http.get("/v1/events", params={"after": after, "limit": limit})
        response.raise_for_status()
        return response.json()
