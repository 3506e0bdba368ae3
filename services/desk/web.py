"""What every desk page has: who is looking (the API key of the sign-in cookie), CSRF
tokens on forms that write, the Content-Security-Policy, problems shown as a page to a browser
and as problem+json to anything else, and the clients of the ingest and notify APIs."""

import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.datastructures import FormData

from services.story.service import StoryService
from shared.problems import Problem, problem_response
from shared.settings import Settings
from shared.web import Caller, KeyAuth

HERE = Path(__file__).parent
KEY_COOKIE = "storywire_desk_key"
CSRF_COOKIE = "storywire_desk_csrf"
CSRF_FIELD = "csrf"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "object-src 'none'")
SECURITY_HEADERS = [(b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY")]

templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                        autoescape=select_autoescape(default=True, default_for_string=True))


def href(url: str | None) -> str:
    """A link to an outside page: http(s) only (a `javascript:` URL becomes no link)."""
    return url if url and url.lower().startswith(("https://", "http://")) else "#"


templates.filters["href"] = href


@dataclass
class Desk:
    """What the desk's routes use: the story service in this process, the API keys, and
    httpx clients of the ingest and notify APIs."""

    service: StoryService
    auth: KeyAuth
    ingest: httpx.AsyncClient
    notify: httpx.AsyncClient


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the caller their key names (None: no valid key), and that key."""

    caller: Caller | None
    token: str = ""

    def require(self, scope: str) -> Caller:
        if self.caller is None:
            raise Problem(401, "unauthorized", "Sign in with an API key",
                          "Paste an API key on the sign-in page")
        if not self.caller.may(scope):
            raise Problem(403, "forbidden", "This API key lacks a scope",
                          f"needs the {scope!r} scope")
        return self.caller

    @property
    def headers(self) -> dict[str, str]:
        """The viewer's own key for the ingest and notify APIs, so that they apply its scopes
        (a subscriptions key sees its own subscriber only)."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def get_desk(request: Request) -> Desk:
    return request.app.state.desk


DeskDep = Annotated[Desk, Depends(get_desk)]


def get_viewer(request: Request, desk: DeskDep) -> Viewer:
    """The key of the sign-in cookie (or an Authorization header); with no key configured
    anywhere, everyone may do everything."""
    token = request.cookies.get(KEY_COOKIE, "")
    header = request.headers.get("authorization", "")
    if not token and header[:7].lower() == "bearer ":
        token = header[7:].strip()
    caller = desk.auth.caller(token)
    request.state.viewer = Viewer(caller, token if caller else "")
    return request.state.viewer


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def csrf_token(request: Request) -> str:
    """The CSRF token of the browser's cookie, else a new one for this answer to set."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf", None)
    if not token:
        token = request.state.csrf = secrets.token_urlsafe(24)
    return token


async def checked_form(request: Request) -> FormData:
    """A posted form whose CSRF field matches the cookie and, when the browser says where it
    comes from, sent from this origin; else a 403 problem."""
    form = await request.form()
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD)
    sent = sent if isinstance(sent, str) else ""
    if not cookie or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise Problem(403, "csrf", "The form's CSRF token does not match",
                      "Reload the page and send the form again")
    if not same_origin(request):
        raise Problem(403, "cross-origin", "The request comes from another site")
    return form


FormDep = Annotated[FormData, Depends(checked_form)]


def text(form: FormData, name: str) -> str:
    """A form field's text ("" when absent)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def same_origin(request: Request) -> bool:
    """Whether the browser says the request comes from this origin (requests that say
    nothing, such as other programs', pass)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")   # its host: behind a proxy the scheme differs
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


def page(request: Request, viewer: Viewer, name: str, status: int = 200, **context
         ) -> HTMLResponse:
    """A rendered desk page; sets the CSRF cookie its forms carry, the first time."""
    token = csrf_token(request)
    body = templates.get_template(name).render(request=request, viewer=viewer, csrf=token,
                                               csrf_field=CSRF_FIELD, **context)
    response = HTMLResponse(body, status_code=status)
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/desk")
    return response


def validation_problem(exc: ValidationError | RequestValidationError) -> Problem:
    errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""),
               "type": e.get("type", "")} for e in exc.errors()]
    return Problem(422, "validation-error", "The form is not valid",
                   "; ".join(f"{'.'.join(e['loc']) or 'form'}: {e['msg']}" for e in errors),
                   errors=errors)


def wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept.split(",")[0]


def problem_answer(request: Request, problem: Problem) -> Response:
    """A problem as a page for a browser, as problem+json for anything else."""
    if wants_html(request):
        viewer = getattr(request.state, "viewer", None) or Viewer(None)
        answer = page(request, viewer, "problem.html", problem.status, problem=problem)
        answer.headers.update(problem.headers or {})
        return answer
    return problem_response(problem.status, problem.type, problem.title, problem.detail,
                            request.url.path, headers=problem.headers, **problem.extra)


async def api_answer(response: httpx.Response) -> dict | list | None:
    """The JSON of an ingest or notify answer; its problem raised as ours."""
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = {}
        raise Problem(response.status_code, str(body.get("type", "upstream-error")).rsplit(
            ":", 1)[-1], body.get("title", "The service refused"), body.get("detail", ""),
            **({"errors": body["errors"]} if "errors" in body else {}))
    return response.json() if response.content else None


class DeskRoute(APIRoute):
    """A desk route: its problems answered by `problem_answer`."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def desk_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Problem as exc:
                return problem_answer(request, exc)
            except RequestValidationError as exc:
                return problem_answer(request, validation_problem(exc))
            except httpx.HTTPError as exc:
                return problem_answer(request, Problem(
                    502, "service-unavailable", "Ingest or notify did not answer",
                    type(exc).__name__))

        return desk_handler


def desk_router() -> APIRouter:
    return APIRouter(prefix="/desk", route_class=DeskRoute, include_in_schema=False)


class SecurityHeaders:
    """ASGI middleware: the Content-Security-Policy and its companions on every /desk answer
    (streams pass through untouched)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/desk"):
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI, settings: Settings, service: StoryService, auth: KeyAuth,
            ingest: httpx.AsyncClient | None = None, notify: httpx.AsyncClient | None = None
            ) -> None:
    """Mount the desk's pages and static files in the story service's app."""
    from services.desk import access, operations, stories, subscriptions

    app.state.desk = Desk(
        service, auth,
        ingest or httpx.AsyncClient(base_url=settings.ingest_url, timeout=30.0),
        notify or httpx.AsyncClient(base_url=settings.notify_url, timeout=30.0))
    app.add_middleware(SecurityHeaders)
    app.mount("/desk/static", StaticFiles(directory=HERE / "static"), name="desk-static")
    for module in (access, stories, subscriptions, operations):
        app.include_router(module.router)


def use_clients(app: FastAPI, ingest: httpx.AsyncClient, notify: httpx.AsyncClient) -> None:
    """Reach the ingest and notify APIs through these clients (the embedded default's
    in-process ones)."""
    app.state.desk.ingest, app.state.desk.notify = ingest, notify
