"""Signing in to the desk: an API key pasted once into an HttpOnly, SameSite=Strict cookie
(Secure over https); it never appears in a page, a URL or a log."""

import asyncio

from fastapi import Request
from fastapi.responses import RedirectResponse

from services.desk.web import (
    KEY_COOKIE,
    DeskDep,
    FormDep,
    ViewerDep,
    desk_router,
    page,
    text,
)
from shared.problems import Problem

router = desk_router()
KEY_MAX_AGE = 12 * 3600


@router.get("/sign-in")
async def read_sign_in(request: Request, viewer: ViewerDep):
    return page(request, viewer, "sign_in.html")


@router.post("/sign-in")
async def sign_in(request: Request, desk: DeskDep, form: FormDep):
    token = text(form, "key")
    caller = await asyncio.to_thread(desk.auth.caller, token) if token else None
    if caller is None:
        raise Problem(401, "unauthorized", "That API key is not valid",
                      "Paste a key `storywire keys create` printed")
    response = RedirectResponse("/desk/stories", status_code=303)
    response.set_cookie(KEY_COOKIE, token, max_age=KEY_MAX_AGE, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/desk")
    return response


@router.post("/sign-out")
async def sign_out(form: FormDep):
    response = RedirectResponse("/desk/sign-in", status_code=303)
    response.delete_cookie(KEY_COOKIE, path="/desk")
    return response


@router.get("")
@router.get("/")
async def read_desk():
    return RedirectResponse("/desk/stories", status_code=303)
