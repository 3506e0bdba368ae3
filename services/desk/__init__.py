"""The newsroom desk: server-rendered pages over the story service's own projections and the
ingest and notify APIs, mounted in the story service under /desk."""

from services.desk.web import install

__all__ = ["install"]
