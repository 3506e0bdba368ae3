"""The story API's routes, one module per resource."""

import json
from pathlib import Path

from services.story.routes import articles, events, stories
from shared.web import add_examples

ROUTERS = (articles.router, stories.router, events.router)
EXAMPLES = json.loads(Path(__file__).parent.with_name("openapi_examples.json")
                      .read_text(encoding="utf-8"))

for _router in ROUTERS:
    add_examples(_router, EXAMPLES)
