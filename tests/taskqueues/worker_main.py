"""What the worker processes import: the test's receiver, built from ``CMW_*`` variables.

``celery -A taskqueues.worker_main:app``, ``dramatiq taskqueues.worker_main:app`` and
``python -m connect_mw.taskqueues.rq taskqueues.worker_main:receiver``.
"""

from __future__ import annotations

from taskqueues.workerapp import Config, build

built = build(Config.from_env())
receiver = built.receiver
app = built.app
