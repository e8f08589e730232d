"""A status dashboard: envelopes, their timelines, dead letters with a retry button.

Server-rendered (Starlette + Jinja2, no JavaScript). Needs ``jinja2``
(``pip install 'connect-mw[dashboard]'``). ``connect-mw serve`` mounts it at
``/dashboard``; mount it in your own ASGI app with :class:`Dashboard`.
"""

from __future__ import annotations

from .app import Dashboard

__all__ = ["Dashboard"]
