"""Document download: streamed in chunks to a file or a sink, never whole in memory."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import io
import os
import tracemalloc
from pathlib import Path

import pytest

from connect_mw.rest import (
    AsyncESignClient,
    DocumentTooLarge,
    DocuSignAPIError,
    DocuSignSettings,
    DocuSignTransportError,
    ESignClient,
)
from connect_mw.rest.results import filename_of
from connect_mw.rest.wire import CHUNK_SIZE

from .conftest import Sleeps
from .fake_data import FakeDocument, envelope_id, make_envelope
from .fake_esign import FakeESign

SIZE = 8 * 1024 * 1024
CONTRACT = FakeDocument("1", "Contract.pdf", SIZE)
ANNEX = FakeDocument("2", "Annex.pdf", 300_000)
CERTIFICATE = FakeDocument("certificate", "Summary.pdf", 50_000, kind="summary")


class RecordingSink:
    """A sink that keeps only a running hash and the size of each write."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.writes: list[int] = []

    def write(self, data: bytes, /) -> int:
        self.hash.update(data)
        self.writes.append(len(data))
        return len(data)


def _envelope(fake: FakeESign) -> str:
    fake.add(make_envelope(1, "completed", fake.now()))
    fake.documents[envelope_id(1)] = [CONTRACT, ANNEX, CERTIFICATE]
    return envelope_id(1)


def _digest(*documents: FakeDocument) -> str:
    hasher = hashlib.sha256()
    for document in documents:
        for chunk in document.chunks():
            hasher.update(chunk)
    return hasher.hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_document_is_written_chunk_by_chunk(fake: FakeESign, client: ESignClient) -> None:
    ident = _envelope(fake)
    sink = RecordingSink()
    result = client.download_document(ident, sink, "1")
    assert sink.hash.hexdigest() == CONTRACT.digest()
    assert result.size == SIZE == sum(sink.writes)
    assert len(sink.writes) >= SIZE // CHUNK_SIZE and max(sink.writes) <= CHUNK_SIZE
    assert (result.filename, result.content_type) == ("Contract.pdf", "application/pdf")
    assert fake.api_calls("/documents/1")[0].query == {}


def test_download_to_a_file_never_holds_the_document(
    fake: FakeESign, client: ESignClient, tmp_path: Path
) -> None:
    ident = _envelope(fake)
    target = tmp_path / "signed.pdf"
    client.get_account()  # token and userinfo first: only the download is measured
    gc.collect()
    tracemalloc.start()
    try:
        result = client.download_document_to(ident, target, "1")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < SIZE // 4, f"peak {peak} bytes for a {SIZE}-byte document"
    assert (result.size, result.path) == (SIZE, str(target))
    assert _sha256(target) == CONTRACT.digest()
    assert os.stat(target).st_mode & 0o077 == 0  # readable by the owner only
    assert [p.name for p in tmp_path.iterdir()] == ["signed.pdf"]


def test_combined_and_certificate(fake: FakeESign, client: ESignClient, tmp_path: Path) -> None:
    ident = _envelope(fake)
    combined = client.download_document_to(ident, tmp_path / "all.pdf")
    assert _sha256(tmp_path / "all.pdf") == _digest(CONTRACT, ANNEX, CERTIFICATE)
    assert combined.filename == f"{ident}.pdf" and combined.document_id == "combined"
    client.download_document_to(ident, tmp_path / "docs.pdf", certificate=False)
    assert _sha256(tmp_path / "docs.pdf") == _digest(CONTRACT, ANNEX)
    assert fake.api_calls("/documents/combined")[-1].query == {"certificate": "false"}
    client.download_document_to(ident, tmp_path / "cert.pdf", "certificate")
    assert _sha256(tmp_path / "cert.pdf") == CERTIFICATE.digest()


def test_max_bytes_stops_the_download_and_leaves_no_file(
    fake: FakeESign, client: ESignClient, tmp_path: Path
) -> None:
    ident = _envelope(fake)
    target = tmp_path / "big.pdf"
    with pytest.raises(DocumentTooLarge) as caught:
        client.download_document_to(ident, target, "1", max_bytes=1_000_000)
    assert caught.value.limit == 1_000_000
    assert list(tmp_path.iterdir()) == []
    sink = RecordingSink()
    with pytest.raises(DocumentTooLarge):
        client.download_document(ident, sink, "1", max_bytes=SIZE - 1)
    assert sum(sink.writes) <= SIZE - 1


def test_a_failed_download_keeps_the_existing_file(
    fake: FakeESign, client: ESignClient, tmp_path: Path
) -> None:
    ident = _envelope(fake)
    target = tmp_path / "signed.pdf"
    target.write_bytes(b"previous")
    with pytest.raises(DocuSignAPIError) as caught:
        client.download_document_to(ident, target, "7")
    assert caught.value.error_code == "DOCUMENT_DOES_NOT_EXIST"
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["signed.pdf"]


def test_a_retried_download_writes_each_byte_once(
    fake: FakeESign, client: ESignClient, sleeps: Sleeps
) -> None:
    ident = _envelope(fake)
    fake.rate_limit("/documents/2", reset_in=2)
    fake.fail("/documents/2", 503)
    sink = io.BytesIO()
    client.download_document(ident, sink, "2")
    assert hashlib.sha256(sink.getvalue()).hexdigest() == ANNEX.digest()
    assert len(sleeps.waits) == 2


def test_a_stream_broken_midway_is_not_sent_again(
    fake: FakeESign, client: ESignClient, sleeps: Sleeps, tmp_path: Path
) -> None:
    ident = _envelope(fake)
    fake.documents[ident] = [FakeDocument("1", "Contract.pdf", SIZE, break_after=3)]
    with pytest.raises(DocuSignTransportError, match="cannot reach DocuSign for GET "):
        client.download_document_to(ident, tmp_path / "signed.pdf", "1")
    assert list(tmp_path.iterdir()) == []
    assert sleeps.waits == [] and len(fake.api_calls("/documents/1")) == 1


class AsyncSink:
    """A sink whose ``write`` is a coroutine (like an async file)."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.awaited = 0

    async def write(self, data: bytes, /) -> None:
        await asyncio.sleep(0)
        self.hash.update(data)
        self.awaited += 1


def test_the_async_client_streams_into_an_async_sink(
    fake: FakeESign, settings: DocuSignSettings, sleeps: Sleeps
) -> None:
    ident = _envelope(fake)
    sink = AsyncSink()

    async def main() -> int:
        async with AsyncESignClient(settings, sleep=sleeps.asleep) as client:
            result = await client.download_document(ident, sink, "1")
        return result.size

    assert asyncio.run(main()) == SIZE
    assert sink.hash.hexdigest() == CONTRACT.digest() and sink.awaited >= SIZE // CHUNK_SIZE


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ('file; filename="NDA.pdf"; documentid="1"', "NDA.pdf"),
        ("file; filename=Summary.pdf; documentid=certificate", "Summary.pdf"),
        ("inline", None),
        ("", None),
    ],
)
def test_filename_from_content_disposition(header: str, name: str | None) -> None:
    assert filename_of({"content-disposition": header}) == name
