"""A status dashboard: envelopes (counts, search), timelines, the queue and its health, events.

Server-rendered (Starlette + Jinja2, no JavaScript; list pages reload by a meta refresh).
Needs ``jinja2`` (``pip install 'connect-mw[dashboard]'``). ``connect-mw serve`` mounts it at
``/dashboard``; mount it in your own ASGI app with :class:`Dashboard`.
"""

from __future__ import annotations

from .app import Dashboard

__all__ = ["Dashboard"]
