"""A small metrics interface: counters and latency observations.

The receiver and workers report through a :class:`Metrics` object (default: records
nothing). :class:`InMemoryMetrics` keeps everything for tests and dashboards;
:class:`PrometheusMetrics` exports through ``prometheus_client`` (``pip install
'connect-mw[prometheus]'``). Names used:

* ``connect_mw_notifications_total{outcome=new|duplicate|stale}``
* ``connect_mw_rejections_total{status=400|401|…}``
* ``connect_mw_unparsed_total{outcome=new|duplicate}`` (signed bodies kept as dead letters)
* ``connect_mw_events_total{state=processed|failed|dead}`` (worker verdicts)
* ``connect_mw_request_seconds`` (receiver pipeline), ``connect_mw_processing_seconds``
  (one event's callbacks): histograms (``_bucket``, ``_sum``, ``_count`` in Prometheus)

``docs/observability.md`` describes each; ``docs/grafana/connect-mw-dashboard.json`` is a
dashboard over them.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import Counter
from collections.abc import Callable
from typing import Any

log = logging.getLogger("connect_mw.metrics")


class Metrics:
    """Receives counters and timings; subclass it to send them somewhere."""

    def increment(self, name: str, **labels: str) -> None:
        """Add one to counter ``name`` with ``labels``."""

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        """Record one duration (seconds) in histogram ``name``."""


def report_count(metrics: Metrics, name: str, **labels: str) -> None:
    """``metrics.increment(name, **labels)``; what it raises is logged, never raised.

    The core reports after the event is stored or the verdict taken: a failing metrics
    backend must not turn a stored event into a 5xx (DocuSign would resend it) nor a
    processed event into a retry.
    """
    _guarded(metrics.increment, name, **labels)


def report_time(metrics: Metrics, name: str, seconds: float) -> None:
    """``metrics.observe(name, seconds)``; what it raises is logged (see :func:`report_count`)."""
    _guarded(metrics.observe, name, seconds)


def _guarded(report: Callable[..., None], name: str, *args: Any, **labels: str) -> None:
    try:
        report(name, *args, **labels)
    except Exception:
        log.exception("%s(%r) failed; the report is lost", report.__qualname__, name)


def _label_key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


class InMemoryMetrics(Metrics):
    """Keeps counters and observations in memory (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
        self.observations: dict[str, list[float]] = {}

    def increment(self, name: str, **labels: str) -> None:
        """See :meth:`Metrics.increment`."""
        with self._lock:
            self.counters[(name, _label_key(labels))] += 1

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        """See :meth:`Metrics.observe` (labels are not kept apart here)."""
        with self._lock:
            self.observations.setdefault(name, []).append(seconds)

    def count(self, name: str, **labels: str) -> int:
        """The value of one counter."""
        with self._lock:
            return self.counters[(name, _label_key(labels))]


#: The metric families created in each registry, shared by every :class:`PrometheusMetrics`
#: on it (a registry refuses a second collector of the same name).
_FAMILIES: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
_FAMILIES_LOCK = threading.Lock()


class PrometheusMetrics(Metrics):
    """Exports to a ``prometheus_client`` registry (the default registry unless given).

    Several instances on one registry (two receivers in a process, a receiver rebuilt) share
    its metric families, so their counts add up.
    """

    def __init__(self, registry: Any = None) -> None:
        import prometheus_client  # noqa: PLC0415 - optional dependency

        self._client = prometheus_client
        self._registry = registry if registry is not None else prometheus_client.REGISTRY
        with _FAMILIES_LOCK:
            self._families = _FAMILIES.setdefault(self._registry, {})

    @property
    def registry(self) -> Any:
        """The ``prometheus_client`` registry the metrics are exported to."""
        return self._registry

    def _family(self, kind: str, name: str, labels: dict[str, str]) -> Any:
        with _FAMILIES_LOCK:
            family = self._families.get(name)
            if family is None:
                factory = self._client.Counter if kind == "counter" else self._client.Histogram
                exported = name.removesuffix("_total")
                family = factory(
                    exported, f"connect-mw {exported}", sorted(labels), registry=self._registry
                )
                self._families[name] = family
        return family.labels(**labels) if labels else family

    def increment(self, name: str, **labels: str) -> None:
        """See :meth:`Metrics.increment`."""
        self._family("counter", name, labels).inc()

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        """See :meth:`Metrics.observe`."""
        self._family("histogram", name, labels).observe(seconds)
