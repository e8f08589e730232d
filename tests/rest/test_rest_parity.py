"""Sync and async faces: every operation gives the same result and sends the same requests."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from connect_mw.rest import (
    AsyncESignClient,
    DocumentDownload,
    DocuSignSettings,
    ESignClient,
    operations,
)
from connect_mw.rest.client import OPERATION_NAMES

from .conftest import Clock, Sleeps
from .fake_data import FakeDocument, envelope_id, make_configuration, make_envelope, make_failure
from .fake_esign import FakeESign

ENVELOPE = envelope_id(1)
#: For each operation: ``(face label, scratch dir) -> (args, kwargs)``.
Case = Callable[[str, Path], tuple[tuple[Any, ...], dict[str, Any]]]
CASES: dict[str, Case] = {
    "get_account": lambda face, tmp: ((), {}),
    "list_status_changes": lambda face, tmp: (("2024-01-01T00:00Z",), {"count": 1}),
    "list_status_changes_page": lambda face, tmp: (("2024-01-01T00:00Z",), {"start_position": 1}),
    "get_envelope": lambda face, tmp: ((ENVELOPE,), {"include": ["recipients"]}),
    "list_recipients": lambda face, tmp: ((ENVELOPE,), {}),
    "list_documents": lambda face, tmp: ((ENVELOPE,), {}),
    "download_document": lambda face, tmp: ((ENVELOPE, io.BytesIO(), "1"), {}),
    "download_document_to": lambda face, tmp: (
        (ENVELOPE, tmp / f"{face}.pdf"),
        {"max_bytes": 10**6},
    ),
    "get_form_data": lambda face, tmp: ((ENVELOPE,), {}),
    "list_connect_failures": lambda face, tmp: ((), {"from_date": "2024-01-01T00:00Z"}),
    "republish": lambda face, tmp: (([ENVELOPE],), {}),
    "list_connect_configurations": lambda face, tmp: ((), {}),
}


def _populate(fake: FakeESign) -> None:
    now = fake.now()
    fake.add(make_envelope(1, "completed", now - timedelta(minutes=2)))
    fake.add(make_envelope(2, "sent", now - timedelta(minutes=1)))
    fake.documents[ENVELOPE] = [FakeDocument("1", "Contract.pdf", 200_000)]
    fake.failures.append(make_failure(1, now - timedelta(hours=1)))
    fake.configurations.append(make_configuration())


def _comparable(result: Any, args: tuple[Any, ...]) -> Any:
    """The result, with what differs by design (the target file) replaced by content."""
    if isinstance(result, DocumentDownload) and result.path is not None:
        return dataclasses.replace(result, path=None), Path(result.path).read_bytes()
    if len(args) > 1 and isinstance(args[1], io.BytesIO):
        return result, args[1].getvalue()
    return result


def _requests(fake: FakeESign) -> list[tuple[str, str, dict[str, str]]]:
    """The requests made."""
    return [(seen.method, seen.path, seen.query) for seen in fake.requests]


def test_every_operation_has_a_parity_case() -> None:
    assert set(CASES) == set(OPERATION_NAMES)


@pytest.mark.parametrize("name", OPERATION_NAMES)
def test_sync_and_async_faces_agree(
    name: str, fake: FakeESign, settings: DocuSignSettings, clock: Clock, tmp_path: Path
) -> None:
    sleeps = Sleeps()
    clock.freeze()  # answers that carry the time (lastQueriedDateTime) match
    _populate(fake)
    fake.fail("/", 503)  # the first request of each face is retried, whichever it is
    args, kwargs = CASES[name]("sync", tmp_path)
    with ESignClient(settings, sleep=sleeps, clock=clock) as client:
        expected = _comparable(getattr(client, name)(*args, **kwargs), args)
    sync_requests, fake.requests = _requests(fake), []
    fake.fail("/", 503)

    async def run_async() -> Any:
        args, kwargs = CASES[name]("async", tmp_path)
        async with AsyncESignClient(settings, sleep=sleeps.asleep, clock=clock) as client:
            return _comparable(await getattr(client, name)(*args, **kwargs), args)

    assert asyncio.run(run_async()) == expected
    assert _requests(fake) == sync_requests
    assert sleeps.waits == [1.0, 1.0]


def test_both_faces_show_the_operations_signature(settings: DocuSignSettings) -> None:
    expected = "(envelope_id: 'str', *, include: 'Sequence[str]' = ())"
    with ESignClient(settings) as client:
        assert str(inspect.signature(client.get_envelope)) == expected
        assert client.get_envelope.__doc__ == operations.get_envelope.__doc__
    assert str(AsyncESignClient.get_envelope.signature) == expected
