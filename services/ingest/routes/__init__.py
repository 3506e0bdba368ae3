"""The ingest API's routes, one module per resource."""

from services.ingest.routes import articles, feeds, integrations

ROUTERS = (articles.router, integrations.router, feeds.router)
