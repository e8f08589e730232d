"""OpenTelemetry spans for each delivery, when ``opentelemetry-api`` is installed.

``pip install 'connect-mw[otel]'`` and configure a tracer provider as usual (the SDK and an
exporter); the receiver then writes, per request, a ``connect_mw.receive`` span with the
children ``connect_mw.authenticate`` → ``connect_mw.parse`` → ``connect_mw.record`` →
``connect_mw.acknowledge``, and per processing attempt a ``connect_mw.process`` span with
one ``connect_mw.callback`` child per callback (``connect_mw.enrich`` and
``connect_mw.on_error`` likewise). A callback runs with its span current, so spans your
callback starts are its children.

The request and the worker's attempts are separate traces (the worker runs later, maybe in
another process); every span of one delivery carries the same ``connect_mw.correlation_id``
attribute (:mod:`connect_mw.correlation`) — search by it to see a delivery end to end.

Without the package, or before a tracer provider is set, nothing is created: every span is
one shared do-nothing object.
The spans are not made current while the pipeline runs (it moves between threads and
tasks); only a callback's span is, for the callback's duration.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

__all__ = ["NO_SPAN", "Span", "start_span"]

_trace: Any = None  # the opentelemetry.trace module; False when it is not installed
_provider: Any = None  # the provider _tracer came from
_tracer: Any = None


def _get_tracer() -> Any:
    """The tracer of the configured provider; ``None`` without the package or a provider.

    Until the application sets a tracer provider, spans would record nothing: they are not
    created at all (``NO_SPAN``), so an installed but unconfigured API costs nothing either.
    """
    global _trace, _provider, _tracer  # noqa: PLW0603
    if _trace is None:
        try:
            from opentelemetry import trace  # noqa: PLC0415 - optional dependency
        except ImportError:
            _trace = False
        else:
            _trace = trace
    if _trace is False:
        return None
    provider = _trace.get_tracer_provider()
    if isinstance(provider, _trace.ProxyTracerProvider):
        return None
    if provider is not _provider:
        _provider, _tracer = provider, provider.get_tracer("connect_mw")
    return _tracer


Attribute = str | int | float | bool


class Span:
    """A span of the pipeline (or :data:`NO_SPAN`, which does nothing).

    Used as a context manager it ends on exit, recording an exception that escapes.
    """

    def child(self, name: str, **attributes: Attribute) -> Span:
        """A new span under this one."""
        return self

    def set(self, **attributes: Attribute) -> None:
        """Set attributes (``correlation_id`` becomes ``connect_mw.correlation_id``)."""

    def fail(self, description: str) -> None:
        """Mark the span as failed."""

    def end(self) -> None:
        """End the span (once; later calls do nothing)."""

    @contextmanager
    def current(self) -> Iterator[None]:
        """Make this span the current one inside the block (for a callback's own spans)."""
        yield

    def __enter__(self) -> Span:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if error is not None and isinstance(error, Exception):
            self._record(error)
        self.end()

    def _record(self, error: Exception) -> None:
        """Record ``error`` on the span."""


#: The span used when OpenTelemetry is not installed.
NO_SPAN = Span()


def _attribute_name(name: str) -> str:
    return name if "." in name else f"connect_mw.{name}"


class _OtelSpan(Span):
    def __init__(self, tracer: Any, span: Any) -> None:
        self._tracer = tracer
        self._span = span
        self._ended = False

    def child(self, name: str, **attributes: Attribute) -> Span:
        from opentelemetry import trace  # noqa: PLC0415

        parent = trace.set_span_in_context(self._span)
        span = self._tracer.start_span(name, context=parent, attributes=_names(attributes))
        return _OtelSpan(self._tracer, span)

    def set(self, **attributes: Attribute) -> None:
        self._span.set_attributes(_names(attributes))

    def fail(self, description: str) -> None:
        from opentelemetry.trace import Status, StatusCode  # noqa: PLC0415

        self._span.set_status(Status(StatusCode.ERROR, description))

    def end(self) -> None:
        if not self._ended:
            self._ended = True
            self._span.end()

    @contextmanager
    def current(self) -> Iterator[None]:
        from opentelemetry import trace  # noqa: PLC0415

        with trace.use_span(self._span, end_on_exit=False):
            yield

    def _record(self, error: Exception) -> None:
        self._span.record_exception(error)
        self.fail(f"{type(error).__name__}")


def _names(attributes: dict[str, Attribute]) -> dict[str, Attribute]:
    return {_attribute_name(name): value for name, value in attributes.items()}


def start_span(name: str, **attributes: Attribute) -> Span:
    """A new span under the current one (a server's request span, if instrumented).

    :data:`NO_SPAN` without OpenTelemetry. Attribute names without a dot get the
    ``connect_mw.`` prefix.
    """
    tracer = _get_tracer()
    if tracer is None:
        return NO_SPAN
    span = tracer.start_span(name, attributes=_names(attributes))
    return _OtelSpan(tracer, span)
