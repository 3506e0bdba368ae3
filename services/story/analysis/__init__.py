"""The analysis engine: what a new article changes about a story.

Pure code: no I/O, no database, no clock. Dates come from the article.
"""

from .engine import analyze, development_id, run_offline, takes
from .knowledge import ArticleRecord, Fact, Matter, MatterStatus, Source, StoryKnowledge
from .model import (
                    Analysis,
                    Article,
                    Conflict,
                    ConflictValue,
                    Corroboration,
                    Development,
                    MatterChange,
                    Route,
                    SentenceMatch,
                    SentenceVerdict,
                    StoryDefinition,
)
from .route_index import StoryIndex
from .routing import route
from .text import content_hash, split_sentences

__all__ = [
    "Analysis", "Article", "ArticleRecord", "Conflict", "ConflictValue", "Corroboration",
    "Development", "Fact", "Matter", "MatterChange", "MatterStatus", "Route", "SentenceMatch",
    "SentenceVerdict", "Source", "StoryDefinition", "StoryIndex", "StoryKnowledge", "analyze",
    "content_hash", "development_id", "route", "run_offline", "split_sentences", "takes",
]
