"""``from_uri``: a processing backend from a URI, building the task queue's app object too.

``celery+amqp://…``, ``celery+redis://…``, ``dramatiq+amqp://…``, ``dramatiq+redis://…`` and
``rq+redis://…``: the part after ``+`` is the broker URL as the task queue takes it, less an
optional ``queue`` query parameter naming the queue the messages go to.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import ConfigurationError
from ..redaction import redact_uri
from .base import TaskQueueProcessing

SCHEMES = ("celery", "dramatiq", "rq")


def split_uri(uri: str) -> tuple[str, str, str | None]:
    """``(task queue, broker URL, queue name)`` of a backend URI."""
    kind, plus, broker = uri.partition("+")
    if not plus or kind not in SCHEMES or "://" not in broker:
        raise ConfigurationError(
            f"not a task queue URI: {redact_uri(uri)!r} (expected celery+amqp://, celery+redis://, "
            "dramatiq+amqp://, dramatiq+redis:// or rq+redis://)"
        )
    parts = urlsplit(broker)
    query = parse_qsl(parts.query, keep_blank_values=True)
    queue = next((value for name, value in query if name == "queue"), None)
    rest = urlencode([(name, value) for name, value in query if name != "queue"])
    return kind, urlunsplit(parts._replace(query=rest)), queue


def from_uri(uri: str, **options: Any) -> TaskQueueProcessing:
    """The backend ``uri`` names, with its app (Celery), broker (Dramatiq) or queue (RQ).

    ``options`` go to the backend's constructor (``rq+redis://`` needs ``receiver=``). The
    app object is the backend's ``app`` (Celery) or ``broker`` (Dramatiq), for the worker
    command line: ``celery -A myapp.connect:app worker``, ``dramatiq myapp.connect:broker``.
    """
    kind, broker, queue = split_uri(uri)
    if kind == "celery":
        return _celery(broker, queue, options)
    if kind == "dramatiq":
        return _dramatiq(broker, queue, options)
    return _rq(broker, queue, options)


def _celery(broker: str, queue: str | None, options: dict[str, Any]) -> TaskQueueProcessing:
    from celery import Celery  # noqa: PLC0415 (an optional dependency)

    from .celery import CeleryProcessing  # noqa: PLC0415

    app = Celery("connect_mw", broker=broker, set_as_current=False)
    app.conf.broker_connection_retry_on_startup = True
    return CeleryProcessing(app, queue=queue, **options)


def _dramatiq(broker: str, queue: str | None, options: dict[str, Any]) -> TaskQueueProcessing:
    from .dramatiq import DramatiqProcessing  # noqa: PLC0415 (an optional dependency)

    if broker.startswith("redis"):
        from dramatiq.brokers.redis import RedisBroker  # noqa: PLC0415

        redis_broker = RedisBroker(url=broker)  # type: ignore[no-untyped-call]
        return DramatiqProcessing(redis_broker, **_named(queue, options))
    from dramatiq.brokers.rabbitmq import RabbitmqBroker  # noqa: PLC0415

    return DramatiqProcessing(RabbitmqBroker(url=broker), **_named(queue, options))


def _named(queue: str | None, options: dict[str, Any]) -> dict[str, Any]:
    return options if queue is None else {"queue_name": queue, **options}


def _rq(broker: str, queue: str | None, options: dict[str, Any]) -> TaskQueueProcessing:
    from redis import Redis  # noqa: PLC0415 (an optional dependency)
    from rq import Queue  # noqa: PLC0415

    from .rq import RQProcessing  # noqa: PLC0415

    if "receiver" not in options:
        raise ConfigurationError("rq+redis:// needs receiver='module:attribute'")
    return RQProcessing(Queue(queue or "connect-mw", connection=Redis.from_url(broker)), **options)
