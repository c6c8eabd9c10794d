"""Errors of the pages as pages: a problem-details answer to a page (or to a browser asking for
HTML) is replaced by an error page in the caller's language, with the same status."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_JSON = b"application/problem+json"


class PageErrors:
    """ASGI middleware: problem details become an error page where a person is reading."""

    def __init__(self, app: ASGIApp, render: Callable[[Request, int], Response]) -> None:
        self.app = app
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replaced = started = False

        async def answer(message: Message) -> None:
            nonlocal replaced, started
            if message["type"] == "http.response.start":
                started = True
                headers = dict(message.get("headers", []))
                request = Request(scope)
                if headers.get(b"content-type", b"").startswith(PROBLEM_JSON) and wants_page(request):
                    replaced = True
                    response = self.render(request, int(message["status"]))
                    await response(scope, receive, send)
                    return
            if not replaced:
                await send(message)

        try:
            await self.app(scope, receive, answer)
        except Exception:
            # An unexpected error: a person gets the error page; the app's handler still logs it.
            request = Request(scope)
            if not started and wants_page(request):
                await self.render(request, 500)(scope, receive, send)
            raise


def wants_page(request: Request) -> bool:
    """A page route marked the request, or a browser asked for HTML."""
    if getattr(request.state, "page", False):
        return True
    return request.headers.get("accept", "").startswith("text/html")
