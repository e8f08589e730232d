"""What a simulated delivery run did: counts, latencies, a progress bar on stderr."""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO


@dataclass
class Report:
    """Counts of one run.

    ``total`` sends were planned (messages plus duplicates). ``sent`` counts HTTP requests,
    ``acknowledged`` those answered 2xx, ``retried`` the requests that were retries;
    ``delivered`` and ``failed`` count sends that ended acknowledged or gave up; ``held``
    counts sends held back behind a failing one (``hold_on_failure``).
    """

    total: int
    sent: int = 0
    acknowledged: int = 0
    retried: int = 0
    duplicates: int = 0
    delivered: int = 0
    failed: int = 0
    held: int = 0
    responses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def done(self) -> int:
        """Sends finished, acknowledged or given up."""
        return self.delivered + self.failed

    def record(
        self, outcome: str, latency: float, *, ok: bool, retry: bool, duplicate: bool
    ) -> None:
        """Count one HTTP request: its outcome (status code or error), latency, kind."""
        self.sent += 1
        self.acknowledged += ok
        self.retried += retry
        self.duplicates += duplicate
        self.responses[outcome] += 1
        self.latencies.append(latency)

    def percentile(self, q: float) -> float | None:
        """The ``q`` (0-100) nearest-rank percentile of request latencies, in seconds."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(q / 100 * len(ordered)))
        return ordered[rank - 1]

    def as_dict(self) -> dict[str, Any]:
        """The counts as JSON-ready values (latencies in milliseconds)."""
        p50, p99 = self.percentile(50), self.percentile(99)
        return {
            "messages": self.total,
            "sent": self.sent,
            "acknowledged": self.acknowledged,
            "failed": self.failed,
            "retried": self.retried,
            "duplicates": self.duplicates,
            "held": self.held,
            "responses": dict(sorted(self.responses.items())),
            "p50_ms": None if p50 is None else round(p50 * 1000, 2),
            "p99_ms": None if p99 is None else round(p99 * 1000, 2),
            "elapsed_s": round(self.elapsed, 3),
        }

    def summary(self) -> str:
        """A few lines for people."""
        data = self.as_dict()
        responses = ", ".join(f"{name} x{count}" for name, count in data["responses"].items())
        return (
            f"messages      {self.total} ({self.duplicates} duplicates)\n"
            f"sent          {self.sent} requests in {self.elapsed:.2f} s\n"
            f"acknowledged  {self.acknowledged}\n"
            f"failed        {self.failed} (gave up after every attempt)\n"
            f"retried       {self.retried}\n"
            f"held back     {self.held} (behind a failing message)\n"
            f"latency       p50 {_ms(data['p50_ms'])}, p99 {_ms(data['p99_ms'])}\n"
            f"responses     {responses or 'none'}"
        )


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


class Progress:
    """A plain-text progress bar: redrawn in place on a terminal, a line per quarter otherwise."""

    def __init__(self, stream: TextIO | None = None, *, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.interactive = self.stream.isatty()
        self._drawn_at = 0.0
        self._quarter = 0

    def line(self, report: Report) -> str:
        """The bar and counts for ``report``."""
        fraction = report.done / report.total if report.total else 1.0
        filled = round(fraction * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        return (
            f"[{bar}] {report.done}/{report.total}  ok {report.delivered}  "
            f"failed {report.failed}  retried {report.retried}"
        )

    def update(self, report: Report) -> None:
        """Redraw (at most ten times a second on a terminal)."""
        if self.interactive:
            now = time.monotonic()
            if now - self._drawn_at >= 0.1:
                self._drawn_at = now
                self.stream.write("\r" + self.line(report))
                self.stream.flush()
            return
        quarter = 4 * report.done // report.total if report.total else 4
        if quarter > self._quarter and quarter < 4:
            self._quarter = quarter
            self.stream.write(self.line(report) + "\n")
            self.stream.flush()

    def close(self, report: Report) -> None:
        """Draw the final state and end the line."""
        prefix = "\r" if self.interactive else ""
        self.stream.write(prefix + self.line(report) + "\n")
        self.stream.flush()
