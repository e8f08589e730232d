"""Fixtures of the task-queue tests: a test's broker relay, receiver and worker processes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from connect_mw import Receiver
from support.services import (
    REDIS_URL,
    drop_postgres_schema,
    require_module,
    require_postgres,
    require_redis,
)

from .harness import (
    Workers,
    broker_port,
    broker_url,
    delete_broker_state,
    require_rabbitmq,
)
from .proxy import Relay
from .workerapp import Built, Config, build

MODULES = {"celery": "celery", "dramatiq": "dramatiq", "rq": "rq"}


@dataclass
class Stack:
    """Everything one test runs: its config, the broker relay, its receiver, its workers."""

    config: Config
    relay: Relay
    built: Built
    workers: Workers

    @property
    def receiver(self) -> Receiver:
        """The receiver in the test process (the web side)."""
        return self.built.receiver


def require_backend(backend: str) -> None:
    """Skip (locally) or fail (``CI``) unless the services and package ``backend`` needs."""
    require_module(MODULES[backend.split("-", maxsplit=1)[0]])
    require_postgres()
    require_redis()
    if backend.endswith("amqp"):
        require_rabbitmq()


#: ``make_stack(backend, **config_overrides)``.
MakeStack = Callable[..., Stack]


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[MakeStack]:
    """Build a :class:`Stack` for a backend (with :class:`Config` overrides); torn down after."""
    made: list[Stack] = []

    def make(backend: str, **overrides: Any) -> Stack:
        require_backend(backend)
        relay = Relay(broker_port(backend))
        relay.start()
        name = f"cmw_tq_{uuid.uuid4().hex[:12]}"
        config = Config(
            backend=backend,
            broker=broker_url(backend, relay.port),
            queue=name,
            schema=name,
            log=f"{name}:runs",
            **overrides,
        )
        stack = Stack(config, relay, build(config), Workers(config, tmp_path))
        made.append(stack)
        return stack

    yield make
    for stack in made:
        stack.workers.stop_all()
        stack.built.processing.close(timeout=1)
        stack.receiver.store.close()
        stack.relay.stop()
        delete_broker_state(stack.config)
        client = redis.Redis.from_url(REDIS_URL)
        client.delete(stack.config.log)
        client.close()
        drop_postgres_schema(stack.config.schema)
