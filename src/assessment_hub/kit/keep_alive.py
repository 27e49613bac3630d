"""After an unexpected error (500) the client's keep-alive connection stays usable.

Starlette's ``ServerErrorMiddleware`` sends the error handler's response, then raises the exception again
for the server to log; uvicorn answers that by closing the connection, without ``Connection: close``, so a
client that reuses its connection (httpx, the SDKs) fails on its next request. The wrapper below, around
the whole middleware stack, lets such an exception end quietly once its response has been sent in full
(the hub's error handler has logged it already). An exception before or in the middle of a response still
reaches the server, which answers 500 with ``Connection: close`` or closes the connection.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def keep_alive_after_errors(app: ASGIApp) -> ASGIApp:
    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        complete = False

        async def tracking_send(message: Message) -> None:
            nonlocal complete
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                complete = True

        try:
            await app(scope, receive, tracking_send)
        except Exception:
            if not complete:
                raise

    return guarded
