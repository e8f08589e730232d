"""Documents from callbacks: the message's own copy, else DocuSign's; saved on completion."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from connect_mw import Delivery, Receiver
from connect_mw.rest import (
    AsyncESignClient,
    DocumentTooLarge,
    DocuSignSettings,
    ESignClient,
    afetch_document,
    download_completed_documents,
    fetch_document,
)
from connect_mw.rest.documents import completed_directory
from connect_mw.stores import MemoryStore, ProcessingState

from .conftest import Sleeps
from .fake_data import FakeDocument, JSONObject, envelope_id, make_envelope
from .fake_esign import FakeESign
from .receivers import HMAC_KEY, connect_message, deliver, drain

ENVELOPE = envelope_id(1)
CONTRACT = FakeDocument("1", "Contract.pdf", 300_000)
ANNEX = FakeDocument("2", "Annex.pdf", 150_000)
CERTIFICATE = FakeDocument("certificate", "Summary.pdf", 40_000, kind="summary")


def _bytes(*documents: FakeDocument) -> bytes:
    return b"".join(chunk for document in documents for chunk in document.chunks())


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _completed(fake: FakeESign, *, embedded: bool = False) -> JSONObject:
    """Envelope 1, completed, with its documents at DocuSign; the summary Connect sends."""
    envelope = make_envelope(1, "completed", fake.now() - timedelta(minutes=1))
    fake.add(envelope)
    fake.documents[ENVELOPE] = [CONTRACT, ANNEX, CERTIFICATE]
    summary = {key: value for key, value in envelope.items() if key != "envelopeDocuments"}
    if embedded:  # Connect's "Include Documents" and "Include Certificate of Completion"
        summary["envelopeDocuments"] = [
            {
                "documentId": document.document_id,
                "name": document.name,
                "type": document.kind,
                "PDFBytes": base64.b64encode(_bytes(document)).decode(),
            }
            for document in (CONTRACT, CERTIFICATE)
        ]
    return summary


def _delivered(fake: FakeESign, *, embedded: bool = False) -> Delivery:
    """The ``envelope-completed`` delivery a callback gets for envelope 1."""
    receiver = Receiver(hmac_keys=HMAC_KEY, store=MemoryStore())
    seen: list[Delivery] = []
    receiver.on_envelope_completed(seen.append)
    deliver(receiver, connect_message(_completed(fake, embedded=embedded)))
    drain(receiver)
    assert len(seen) == 1
    return seen[0]


def test_without_documents_in_the_message_they_come_from_the_api(
    fake: FakeESign, client: ESignClient, tmp_path: Path
) -> None:
    delivery = _delivered(fake)
    result = fetch_document(client, delivery, tmp_path / "signed.pdf")
    assert _sha((tmp_path / "signed.pdf").read_bytes()) == _sha(
        _bytes(CONTRACT, ANNEX, CERTIFICATE)
    )
    assert (result.document_id, result.size) == ("combined", 490_000)
    sink = io.BytesIO()
    fetch_document(client, delivery.notification, sink, "2", max_bytes=200_000)
    assert sink.getvalue() == _bytes(ANNEX)
    assert [c.path.rsplit("/", 1)[-1] for c in fake.api_calls("/documents/")] == ["combined", "2"]


def test_documents_connect_included_are_used_without_a_call(
    fake: FakeESign, client: ESignClient, tmp_path: Path
) -> None:
    delivery = _delivered(fake, embedded=True)
    result = fetch_document(client, delivery, tmp_path / "contract.pdf", "1")
    assert (tmp_path / "contract.pdf").read_bytes() == _bytes(CONTRACT)
    assert (result.size, result.filename, result.path) == (
        300_000,
        "Contract.pdf",
        str(tmp_path / "contract.pdf"),
    )
    sink = io.BytesIO()
    fetch_document(client, delivery, sink, "certificate")
    assert sink.getvalue() == _bytes(CERTIFICATE)
    assert fake.api_calls() == []
    fetch_document(client, delivery, sink, "2")  # not in the message: from the API
    fetch_document(client, delivery, tmp_path / "all.pdf")  # never in a message
    assert [c.path.rsplit("/", 1)[-1] for c in fake.api_calls("/documents/")] == ["2", "combined"]


def test_max_bytes_applies_to_included_documents(
    fake: FakeESign, client: ESignClient, tmp_path: Path
) -> None:
    delivery = _delivered(fake, embedded=True)
    target = tmp_path / "contract.pdf"
    target.write_bytes(b"previous")
    with pytest.raises(DocumentTooLarge):
        fetch_document(client, delivery, target, "1", max_bytes=299_999)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["contract.pdf"]
    sink = io.BytesIO()
    with pytest.raises(DocumentTooLarge):
        fetch_document(client, delivery, sink, "1", max_bytes=1000)
    assert sink.getvalue() == b""


class AsyncSink:
    """A sink whose ``write`` is a coroutine."""

    def __init__(self) -> None:
        self.data = bytearray()

    async def write(self, data: bytes, /) -> None:
        await asyncio.sleep(0)
        self.data += data


def test_the_async_helper_writes_to_files_and_async_sinks(
    fake: FakeESign, settings: DocuSignSettings, tmp_path: Path
) -> None:
    delivery = _delivered(fake, embedded=True)
    embedded, fetched = AsyncSink(), AsyncSink()

    async def main() -> None:
        async with AsyncESignClient(settings, sleep=Sleeps().asleep) as client:
            await afetch_document(client, delivery, embedded, "1")
            await afetch_document(client, delivery, tmp_path / "cert.pdf", "certificate")
            assert fake.api_calls() == []
            await afetch_document(client, delivery, fetched, "2")
            await afetch_document(client, delivery, tmp_path / "all.pdf", certificate=False)

    asyncio.run(main())
    assert bytes(embedded.data) == _bytes(CONTRACT) and bytes(fetched.data) == _bytes(ANNEX)
    assert (tmp_path / "cert.pdf").read_bytes() == _bytes(CERTIFICATE)
    assert (tmp_path / "all.pdf").read_bytes() == _bytes(CONTRACT, ANNEX)


def test_completed_envelopes_are_saved_into_a_directory(
    fake: FakeESign, client: ESignClient, tmp_path: Path
) -> None:
    receiver = Receiver(hmac_keys=HMAC_KEY, store=MemoryStore())
    download_completed_documents(
        receiver, client, tmp_path / "signed", documents=["combined", "certificate", "2"]
    )
    fake.documents[envelope_id(2)] = [CONTRACT]
    fake.add(make_envelope(2, "sent", fake.now()))
    deliver(receiver, connect_message(fake.envelopes[envelope_id(2)]))  # not completed
    deliver(receiver, connect_message(_completed(fake)))
    drain(receiver)
    folder = tmp_path / "signed" / ENVELOPE
    assert sorted(p.name for p in folder.iterdir()) == ["2.pdf", "certificate.pdf", "combined.pdf"]
    assert (folder / "combined.pdf").read_bytes() == _bytes(CONTRACT, ANNEX, CERTIFICATE)
    assert (folder / "certificate.pdf").read_bytes() == _bytes(CERTIFICATE)
    assert (folder / "2.pdf").read_bytes() == _bytes(ANNEX)
    assert folder.stat().st_mode & 0o077 == 0
    assert [p.name for p in (tmp_path / "signed").iterdir()] == [ENVELOPE]


def test_a_retried_callback_fetches_only_what_is_missing(
    fake: FakeESign, client: ESignClient, tmp_path: Path
) -> None:
    receiver = Receiver(hmac_keys=HMAC_KEY, store=MemoryStore())
    download_completed_documents(receiver, client, tmp_path, documents=["combined", "certificate"])
    fake.fail("/documents/certificate", 400, {"errorCode": "X", "message": "not yet"})
    key = deliver(receiver, connect_message(_completed(fake)))
    drain(receiver)
    event = receiver.store.get_event(key)
    assert event is not None and event.processing is ProcessingState.FAILED
    assert event.next_attempt_at is not None
    assert receiver.worker().run_once(now=event.next_attempt_at) == 1
    event = receiver.store.get_event(key)
    assert event is not None and event.processing is ProcessingState.PROCESSED
    assert (tmp_path / ENVELOPE / "certificate.pdf").read_bytes() == _bytes(CERTIFICATE)
    downloads = [c.path.rsplit("/", 1)[-1] for c in fake.api_calls("/documents/")]
    assert downloads == ["combined", "certificate", "certificate"]


def test_a_document_over_the_limit_is_skipped_and_logged(
    fake: FakeESign,
    client: ESignClient,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver = Receiver(hmac_keys=HMAC_KEY, store=MemoryStore())
    download_completed_documents(
        receiver, client, tmp_path, documents=["combined", "certificate"], max_bytes=100_000
    )
    with caplog.at_level(logging.ERROR, "connect_mw.rest"):
        key = deliver(receiver, connect_message(_completed(fake)))
        drain(receiver)
    assert [p.name for p in (tmp_path / ENVELOPE).iterdir()] == ["certificate.pdf"]
    assert f"not saving document combined of envelope {ENVELOPE}" in caplog.text
    event = receiver.store.get_event(key)
    assert event is not None and event.processing is ProcessingState.PROCESSED


@pytest.mark.parametrize("name", ["../etc", ".hidden", "a/b", ""])
def test_unsafe_names_are_refused(name: str, client: ESignClient, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not usable"):
        completed_directory(tmp_path, name)
    with pytest.raises(ValueError, match="not usable"):
        download_completed_documents(
            Receiver(hmac_keys=HMAC_KEY, store=MemoryStore()), client, tmp_path, documents=[name]
        )
