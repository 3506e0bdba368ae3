"""Every story API operation documents an example (request or response)."""

from services.story.api import create_app
from shared.settings import Settings


def test_every_story_operation_has_an_example(sqlite_url):
    spec = create_app(Settings(database_url=sqlite_url), run_snapshotter=False).openapi()
    missing = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            bodies = [*operation.get("requestBody", {}).get("content", {}).values(),
                      *(c for r in operation["responses"].values()
                        for c in r.get("content", {}).values())]
            if not any("example" in b or "examples" in b for b in bodies):
                missing.append(f"{method.upper()} {path}")
    assert missing == []
    story = spec["paths"]["/v1/stories/{slug}"]["get"]["responses"]["200"]["content"]
    assert story["application/json"]["example"]["slug"] == "guzman-detention-conditions"
