"""``import connect_mw`` and every core module pull in no framework, driver or test tool."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

CORE_MODULES = [
    "connect_mw",
    "connect_mw.adapters.asgi",
    "connect_mw.adapters.starlette",
    "connect_mw.adapters.wsgi",
    "connect_mw.effects",
    "connect_mw.queues",
    "connect_mw.recording",
    "connect_mw.routing",
    "connect_mw.cli",
    "connect_mw.client_cert",
    "connect_mw.display",
    "connect_mw.jwks",
    "connect_mw.oauth",
    "connect_mw.metrics",
    "connect_mw.worker",
    "connect_mw.keys",
    "connect_mw.parse",
    "connect_mw.processing",
    "connect_mw.receiver",
    "connect_mw.state",
    "connect_mw.stores",
    "connect_mw.taskqueues",
    "connect_mw.taskqueues.base",
    "connect_mw.taskqueues.outbox",
    "connect_mw.taskqueues.uri",
    "connect_mw.verify",
    "connect_mw.logs",
    "connect_mw.correlation",
    "connect_mw.tracing",
    "connect_mw.health",
    "connect_mw.adapters.health",
]
SRC = Path(__file__).resolve().parent.parent / "src" / "connect_mw"
TASK_QUEUES = ["celery", "kombu", "amqp", "dramatiq", "pika", "rq"]
OPTIONAL = [
    *("flask", "django", "redis", "psycopg", "uvicorn", "pytest", "hypothesis", "httpx"),
    *("opentelemetry", "prometheus_client"),
    *TASK_QUEUES,
]
#: Each task-queue backend module and the optional packages it may import: its own only.
TASK_QUEUE_BACKENDS = {
    # kombu.utils.json imports django.utils.functional whenever Django is installed.
    "connect_mw.taskqueues.celery": {"celery", "kombu", "amqp", "django"},
    "connect_mw.taskqueues.dramatiq": {"dramatiq"},
    # redis-py's observability module imports OpenTelemetry whenever it is installed.
    "connect_mw.taskqueues.rq": {"rq", "redis", "opentelemetry"},
}


def _optional_loaded_by(modules: list[str]) -> set[str]:
    """The optional packages a fresh interpreter has loaded after importing ``modules``."""
    script = (
        "import sys\n"
        + "".join(f"import {module}\n" for module in modules)
        + "loaded = {m.split('.')[0] for m in sys.modules}\n"
        + f"print(','.join(sorted(loaded & set({OPTIONAL!r}))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return set(filter(None, result.stdout.strip().split(",")))


def test_core_imports_need_no_optional_dependency() -> None:
    assert _optional_loaded_by(CORE_MODULES) == set()


@pytest.mark.parametrize("module", sorted(TASK_QUEUE_BACKENDS))
def test_a_task_queue_backend_imports_only_its_own_task_queue(module: str) -> None:
    pytest.importorskip(module.rsplit(".", 1)[1])
    assert _optional_loaded_by([module]) <= TASK_QUEUE_BACKENDS[module]


PURE_MODULES = ["model", "errors", "http", "state", "keys", "verify", "routing", "display"]
#: What pure modules may import beyond the standard library: the model is msgspec Structs
#: (a core dependency that does no I/O).
PURE_DEPENDENCIES = {"msgspec"}


@pytest.mark.parametrize("name", PURE_MODULES)
def test_pure_modules_import_only_the_standard_library_msgspec_and_each_other(name: str) -> None:
    tree = ast.parse((SRC / f"{name}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots = [(node.module or "").split(".")[0]]
        elif isinstance(node, ast.ImportFrom):
            assert node.module in PURE_MODULES, f"{name} imports .{node.module}"
            continue
        else:
            continue
        for root in roots:
            allowed = sys.stdlib_module_names | PURE_DEPENDENCIES | {"__future__"}
            assert root in allowed, f"{name}: {root}"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


@pytest.mark.parametrize("path", sorted((SRC / "stores").glob("*.py")), ids=lambda p: p.name)
def test_no_store_folds_or_dedupes(path: Path) -> None:
    """Storage is storage: the fold and the record pipeline belong to the core."""
    imported = _imported_modules(path)
    assert not imported & {"..state", "connect_mw.state", "..recording", "connect_mw.recording"}


def test_the_custom_store_example_imports_only_the_public_store_api() -> None:
    example = SRC.parent.parent / "examples" / "custom_store.py"
    project = {m for m in _imported_modules(example) if m.startswith("connect_mw")}
    assert project == {"connect_mw.stores.api"}
