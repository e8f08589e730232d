"""The ASGI types the pure ASGI adapter needs, so it needs no framework.

They are the ASGI specification's shapes (the same aliases Starlette declares), so an app
typed with Starlette's aliases fits these and the other way round.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ClientDisconnect(Exception):
    """The client went away before its body was read whole (``http.disconnect``)."""
