"""Text no database column can hold is refused at the edge: a NUL character or a lone UTF-16
surrogate, in the path, the query string or a JSON body. PostgreSQL cannot store either; left
in, they surface as a 500 from deep inside an insert. So is JSON nested deeper than any
request needs (a parser recursing 100,000 levels down dies with the connection).

`UnsafeTextGuard` is plain ASGI. The path and query string are checked before the app runs
(422 at once); the body is checked as the app reads it, chunk by chunk, without buffering, and
`UnsafeText` is raised into the app, whose problem handler answers 422."""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from shared.problems import UnsafeText, problem_response

_HIGH = rb"\\u[dD][89abAB][0-9a-fA-F]{2}"
_LOW = rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}"
# in JSON text: an escaped NUL, a raw NUL, a high surrogate escape without its low half, or a
# low one without its high half
BODY = re.compile(rb"\\u0000|\x00|" + _HIGH + rb"(?!" + _LOW + rb")|(?<!" + _HIGH + rb")"
                  + _LOW)
OVERLAP = 12            # an escape split across two chunks is still seen
MAX_DEPTH = 64          # JSON nested deeper is refused before a parser recurses into it
_STRUCTURE = re.compile(rb'[\[\]{}"\\]')


class JsonDepth:
    """The nesting depth of a JSON text read in chunks: brackets outside strings, with
    escapes inside them (`\"`, `\\`) skipped."""

    def __init__(self) -> None:
        self.depth = self.offset = 0
        self.in_string = False
        self.escaped_at = -1

    def feed(self, chunk: bytes) -> int:
        """Read a chunk; the deepest nesting seen in it."""
        deepest = self.depth
        for m in _STRUCTURE.finditer(chunk):
            at, char = self.offset + m.start(), m.group()
            if self.in_string:
                if at == self.escaped_at:
                    continue
                if char == b"\\":
                    self.escaped_at = at + 1
                elif char == b'"':
                    self.in_string = False
            elif char == b'"':
                self.in_string = True
            elif char in (b"[", b"{"):
                self.depth += 1
                deepest = max(deepest, self.depth)
            elif char in (b"]", b"}"):
                self.depth -= 1
        self.offset += len(chunk)
        return deepest


def unsafe_bytes(data: bytes) -> bool:
    """Whether URL-decoded bytes hold a NUL or an encoded surrogate (ED A0..BF ..)."""
    return b"\x00" in data or re.search(rb"\xed[\xa0-\xbf]", data) is not None


class UnsafeTextGuard:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogatepass")
        if unsafe_bytes(unquote_to_bytes(path)) or \
                unsafe_bytes(unquote_to_bytes(scope.get("query_string", b""))):
            response = problem_response(422, "unsafe-text", "The request holds a NUL or a lone "
                                        "surrogate", "in its path or query string",
                                        scope["path"].encode("utf-8", "replace").decode())
            return await response(scope, receive, send)
        tail = b""
        content_type = dict(scope.get("headers") or ()).get(b"content-type", b"").lower()
        depth = JsonDepth() if b"json" in content_type else None

        async def checked_receive():
            nonlocal tail
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                if BODY.search(tail + chunk):
                    raise UnsafeText("the body holds a NUL or a lone surrogate")
                tail = (tail + chunk)[-OVERLAP:]
                if depth is not None and depth.feed(chunk) > MAX_DEPTH:
                    raise UnsafeText(f"the JSON body nests deeper than {MAX_DEPTH} levels")
            return message

        return await self.app(scope, checked_receive, send)
