"""Every service's OpenAPI document lists, for each operation, the problems it can answer
(RFC 9457, `application/problem+json`, the `Problem` schema) beside its successful answers.

Which ones follows from what the route is, so that no route lists them by hand:

- 422 everywhere: every path and query string is read for a NUL or a lone surrogate, and
  every parameter and body is validated;
- 404 where the path has parameters (no such story, article, subscription, ...);
- what the route's dependencies answer, marked with `answers()` (an API key: 401, a scope: 403,
  a per-key rate limit: 429, the keys database away: 503);
- 400 where FastAPI reads a JSON body (bytes it cannot decode);
- 413 where the service limits body size and the operation takes a body;
- 304 where the operation takes `If-None-Match`;
- anything else the route declares in its `responses`, or `declare()` adds by the route's name
  (409, 415, ...): a declared error keeps its description and gets the problem content.
"""

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from shared.problems import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error a client can act on (RFC 9457); `type` is stable",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "urn:storywire:problem:<slug>",
                 "example": "urn:storywire:problem:not-found"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "the request's path"},
        "errors": {"type": "array", "description": "the fields that failed validation",
                   "items": {"type": "object", "properties": {
                       "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                       "msg": {"type": "string"}, "type": {"type": "string"}}}},
    },
    "additionalProperties": True,
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
RETRY_AFTER = {"description": "Seconds to wait before trying again",
               "schema": {"type": "integer", "minimum": 1}}

DESCRIPTIONS = {
    304: "Not modified: the client has this version already (If-None-Match)",
    400: "The request could not be read",
    401: "A valid API key is required",
    403: "The API key lacks the scope this needs",
    404: "No such resource",
    409: "Conflicts with what is recorded",
    413: "The request body is too large",
    415: "The body is not JSON in a known charset",
    422: "The request is not valid (a field, a NUL or a lone surrogate, JSON nested too deep)",
    429: "Too many requests for this API key; `Retry-After` says how many seconds to wait",
    503: "The API keys cannot be checked right now; `Retry-After` says how many seconds to wait",
}


def answers(*statuses: int) -> Callable:
    """Mark a dependency with the error statuses it answers; the OpenAPI lists them on every
    operation that depends on it."""

    def mark(call: Callable) -> Callable:
        call.problem_statuses = frozenset(statuses)
        return call

    return mark


def declare(router: FastAPI | APIRouter, problems: dict[str, dict[int, str]]) -> None:
    """Add the problems a route answers beyond the ones its shape tells, by the route's name
    (the endpoint function's name): `{"create_feed": {409: "That feed is registered"}}`."""
    for route in api_routes(router.routes):
        if route.name in problems:
            for status, description in problems[route.name].items():
                route.responses.setdefault(status, {})["description"] = description


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def api_routes(routes: list) -> Iterator[APIRoute]:
    """The API routes, those of included routers too (newer FastAPI keeps those apart)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from api_routes(inner.routes)


def route_statuses(route: APIRoute, limits_body: bool) -> set[int]:
    """The statuses besides its own `responses` that a route can answer."""
    statuses = {422}
    if route.dependant.path_params:
        statuses.add(404)
    for dependency in _dependencies(route.dependant):
        statuses |= getattr(dependency.call, "problem_statuses", frozenset())
    takes_body = route.body_field is not None or "requestBody" in (route.openapi_extra or {})
    if route.body_field is not None:
        statuses.add(400)
    if limits_body and takes_body:
        statuses.add(413)
    if any(p.alias.lower() == "if-none-match" for p in route.dependant.header_params):
        statuses.add(304)
    return statuses


def with_problems(spec: dict, statuses: dict[tuple[str, str], set[int]]) -> dict:
    """`spec` with the given statuses added to each (path, method) operation, 422 to every
    operation, and every error answer (4xx, 5xx) documented as a problem."""
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in {422, *statuses.get((path, method), ())}:
                responses.setdefault(str(status), {})
            operation["responses"] = responses = dict(sorted(responses.items()))
            for status, response in responses.items():
                if not status.isdigit():
                    continue
                code = int(status)
                response.setdefault("description", DESCRIPTIONS.get(code, "An error"))
                if code >= 400:
                    response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
                if code in (429, 503):
                    response["headers"] = {"Retry-After": RETRY_AFTER}
                elif code == 304:
                    response.pop("content", None)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    return spec


def install(app: FastAPI, limits_body: Callable[[], bool]) -> None:
    """Make `app.openapi()` document every operation's problems (built once, on first use)."""

    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            spec = build()
            limited = limits_body()
            statuses = {(route.path_format, method.lower()): route_statuses(route, limited)
                        for route in api_routes(app.routes) for method in route.methods}
            app.openapi_schema = with_problems(spec, statuses)
        return app.openapi_schema

    app.openapi = openapi
