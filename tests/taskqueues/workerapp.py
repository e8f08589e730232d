"""The receiver the task-queue tests run: in the test process and in real worker processes.

A :class:`Config` travels to worker processes as ``CMW_*`` environment variables;
``taskqueues.worker_main`` builds the same receiver from them. Callbacks write a ``start``
and an ``end`` record (envelope, key, attempt, pid, time) to a Redis list, which the tests
read to check order and at-least-once delivery across processes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis

from connect_mw import Delivery, Receiver, RetryPolicy
from connect_mw.stores.postgres import PostgresStore
from connect_mw.taskqueues import TaskQueueProcessing
from support.deliveries import KEY
from support.services import POSTGRES_DSN, REDIS_URL

BACKENDS = ("celery-amqp", "celery-redis", "dramatiq-amqp", "dramatiq-redis", "rq")
#: How long the first attempt of the ``slow`` key's callback hangs (it is killed first).
HANG = 120.0


@dataclass(frozen=True)
class Config:
    """One test's receiver: backend, broker URL, names, timings."""

    backend: str
    broker: str
    queue: str
    schema: str
    log: str
    lease: float = 3.0
    sweep_every: float = 0.5
    sweep_after: float = 1.0
    work: float = 0.01
    slow: str = ""  # the key whose first attempt hangs

    def env(self) -> dict[str, str]:
        """The configuration as environment variables for a worker process."""
        return {f"CMW_{f.name.upper()}": str(getattr(self, f.name)) for f in _FIELDS}

    @classmethod
    def from_env(cls) -> Config:
        """The configuration a test process passed down."""
        values: dict[str, Any] = {}
        for f in _FIELDS:
            raw = os.environ[f"CMW_{f.name.upper()}"]
            values[f.name] = float(raw) if f.type == "float" else raw
        return cls(**values)


_FIELDS = dataclasses.fields(Config)


@dataclass
class Built:
    """A receiver and its backend, with the task queue's app object for the worker CLI."""

    receiver: Receiver
    processing: TaskQueueProcessing
    app: Any  # the Celery app, the Dramatiq broker, or None for RQ


def build(config: Config, *, receiver_path: str = "taskqueues.worker_main:receiver") -> Built:
    """The receiver for ``config`` (``receiver_path``: where RQ workers import it from)."""
    processing, app = _backend(config, receiver_path)
    store = PostgresStore(POSTGRES_DSN, schema=config.schema, max_size=4)
    receiver = Receiver(
        hmac_keys=[KEY],
        store=store,
        processing=processing,
        lease_for=timedelta(seconds=config.lease),
        retry=RetryPolicy(max_attempts=5, base_delay=timedelta(seconds=0.5), jitter=0),
    )
    _register(receiver, config)
    return Built(receiver, processing, app)


def _backend(config: Config, receiver_path: str) -> tuple[TaskQueueProcessing, Any]:
    every, after = config.sweep_every, config.sweep_after
    processing: TaskQueueProcessing
    if config.backend.startswith("celery"):
        from celery import Celery

        from connect_mw.taskqueues.celery import CeleryProcessing

        app = Celery(f"cmw-{config.queue}", broker=config.broker, set_as_current=False)
        app.conf.update(
            broker_connection_retry_on_startup=True,
            worker_enable_remote_control=False,
            worker_send_task_events=False,
            worker_prefetch_multiplier=1,
            task_default_queue=config.queue,
        )
        processing = CeleryProcessing(
            app, queue=config.queue, retry_delay=0.5, sweep_every=every, sweep_after=after
        )
        return processing, app
    if config.backend.startswith("dramatiq"):
        from connect_mw.taskqueues.dramatiq import DramatiqProcessing

        broker = _dramatiq_broker(config)
        processing = DramatiqProcessing(
            broker, queue_name=config.queue, retry_delay=0.5, sweep_every=every, sweep_after=after
        )
        return processing, broker
    from rq import Queue

    from connect_mw.taskqueues.rq import RQProcessing

    queue = Queue(config.queue, connection=redis.Redis.from_url(config.broker))
    processing = RQProcessing(
        queue, receiver=receiver_path, retry_delay=0.5, sweep_every=every, sweep_after=after
    )
    return processing, None


def _dramatiq_broker(config: Config) -> Any:
    if config.backend == "dramatiq-redis":
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=config.broker, namespace=config.queue)  # type: ignore[no-untyped-call]
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    return RabbitmqBroker(url=config.broker)


def _register(receiver: Receiver, config: Config) -> None:
    log = redis.Redis.from_url(REDIS_URL)

    def write(delivery: Delivery, kind: str) -> None:
        record = {
            "t": kind,
            "k": delivery.key,
            "e": delivery.envelope_id,
            "a": delivery.attempt,
            "p": os.getpid(),
            "w": f"{os.getpid()}:{threading.get_ident()}",
            "at": time.time(),
        }
        log.rpush(config.log, json.dumps(record))

    @receiver.on_any
    def record(delivery: Delivery) -> None:
        write(delivery, "start")
        if delivery.key == config.slow and delivery.attempt == 1:
            time.sleep(HANG)  # killed before it wakes
        time.sleep(config.work)
        write(delivery, "end")
