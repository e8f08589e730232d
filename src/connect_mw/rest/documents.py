"""Documents from a callback: the signed PDF, one document, or the certificate.

:func:`fetch_document` (blocking client) and :func:`afetch_document` (async client) write a
document to a file (atomically, mode ``0600``) or to a sink (anything with
``write(bytes)``). When the Connect message included the document's bytes
(``delivery.notification.documents``, with *Include Documents* in the configuration) they
are used and DocuSign is not called; otherwise the document is streamed from the REST API,
64 KiB at a time::

    client = ESignClient(DocuSignSettings.from_env())

    @receiver.on_envelope_completed
    def archive(delivery):
        fetch_document(client, delivery, f"/srv/signed/{delivery.envelope_id}.pdf")

``document_id`` is a document's id, ``"combined"`` (every document as one PDF: always from
the API, Connect never sends it), ``"certificate"`` (the certificate of completion) or
``"archive"`` (a ZIP). :func:`download_completed_documents` registers a callback that saves
them for every completed envelope into a directory.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio.to_thread

from ..model import DocumentRef, Notification
from ..routing import Callback, Delivery, Routes
from .errors import DocumentTooLarge
from .operations import ARCHIVE, CERTIFICATE, COMBINED, part_file
from .results import DocumentDownload
from .wire import CHUNK_SIZE, Sink

if TYPE_CHECKING:
    from .client import AsyncESignClient, ESignClient

log = logging.getLogger("connect_mw.rest")

#: Where a document goes: a file path, or a sink.
Target = str | os.PathLike[str] | Sink
#: Largest document :func:`download_completed_documents` saves by default (100 MiB).
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def _notification(source: Delivery | Notification) -> Notification:
    return source.notification if isinstance(source, Delivery) else source


def embedded_document(notification: Notification, document_id: str) -> DocumentRef | None:
    """The document ``document_id`` if the message carried its bytes, else ``None``.

    ``certificate`` also finds the document of type ``summary``; ``combined`` and
    ``archive`` only a document of that very id.
    """
    for ref in notification.documents:
        if not ref.has_content:
            continue
        if ref.document_id == document_id:
            return ref
        if document_id == CERTIFICATE and (ref.document_type or "").lower() == "summary":
            return ref
    return None


def _content(ref: DocumentRef, max_bytes: int | None) -> bytes:
    """The embedded document's bytes, refused past ``max_bytes`` before any is written."""
    content = ref.content()
    if max_bytes is not None and len(content) > max_bytes:
        raise DocumentTooLarge(max_bytes)
    return content


def _chunks(content: bytes) -> Iterator[bytes]:
    view = memoryview(content)
    for start in range(0, len(view), CHUNK_SIZE):
        yield bytes(view[start : start + CHUNK_SIZE])


def _result(ref: DocumentRef, envelope_id: str, size: int, path: Path | None) -> DocumentDownload:
    where = None if path is None else str(path)
    return DocumentDownload(envelope_id, ref.document_id, size, ref.name, None, where)


def _save_embedded(
    ref: DocumentRef, envelope_id: str, path: Path, max_bytes: int | None
) -> DocumentDownload:
    content = _content(ref, max_bytes)
    with part_file(path) as handle:
        for chunk in _chunks(content):
            handle.write(chunk)
    return _result(ref, envelope_id, len(content), path)


def fetch_document(
    client: ESignClient,
    source: Delivery | Notification,
    target: Target,
    document_id: str = COMBINED,
    *,
    certificate: bool | None = None,
    max_bytes: int | None = None,
) -> DocumentDownload:
    """Write a document of ``source``'s envelope to ``target`` (a path or a sink).

    The message's own copy when it carried one, else DocuSign's (streamed). Past
    ``max_bytes`` it stops with ``DocumentTooLarge`` (a target file is then left as it
    was). ``certificate=False`` leaves the certificate out of ``combined``.
    """
    notification = _notification(source)
    envelope_id = notification.envelope_id
    ref = embedded_document(notification, document_id)
    if isinstance(target, (str, os.PathLike)):
        if ref is not None:
            return _save_embedded(ref, envelope_id, Path(target), max_bytes)
        return client.download_document_to(
            envelope_id, target, document_id, certificate=certificate, max_bytes=max_bytes
        )
    if ref is not None:
        content = _content(ref, max_bytes)
        for chunk in _chunks(content):
            target.write(chunk)
        return _result(ref, envelope_id, len(content), None)
    return client.download_document(
        envelope_id, target, document_id, certificate=certificate, max_bytes=max_bytes
    )


async def afetch_document(
    client: AsyncESignClient,
    source: Delivery | Notification,
    target: Target,
    document_id: str = COMBINED,
    *,
    certificate: bool | None = None,
    max_bytes: int | None = None,
) -> DocumentDownload:
    """:func:`fetch_document` for async code; a sink's ``write`` may be a coroutine."""
    notification = _notification(source)
    envelope_id = notification.envelope_id
    ref = embedded_document(notification, document_id)
    if isinstance(target, (str, os.PathLike)):
        if ref is not None:
            path, found = Path(target), ref
            return await anyio.to_thread.run_sync(
                lambda: _save_embedded(found, envelope_id, path, max_bytes)
            )
        return await client.download_document_to(
            envelope_id, target, document_id, certificate=certificate, max_bytes=max_bytes
        )
    if ref is not None:
        content = _content(ref, max_bytes)
        for chunk in _chunks(content):
            written = target.write(chunk)
            if inspect.isawaitable(written):
                await written
        return _result(ref, envelope_id, len(content), None)
    return await client.download_document(
        envelope_id, target, document_id, certificate=certificate, max_bytes=max_bytes
    )


def _file_name(document_id: str) -> str:
    """``<document_id>.pdf`` (``.zip`` for the archive), refusing ids unsafe in a path."""
    if not _SAFE_NAME.fullmatch(document_id):
        raise ValueError(f"document id {document_id!r} is not usable as a file name")
    return f"{document_id}.zip" if document_id == ARCHIVE else f"{document_id}.pdf"


def completed_directory(directory: str | os.PathLike[str], envelope_id: str) -> Path:
    """``<directory>/<envelope_id>``; an id that is not a plain name is refused."""
    if not _SAFE_NAME.fullmatch(envelope_id):
        raise ValueError(f"envelope id {envelope_id!r} is not usable as a directory name")
    return Path(directory) / envelope_id


def download_completed_documents(
    routes: Routes,
    client: ESignClient,
    directory: str | os.PathLike[str],
    *,
    documents: Sequence[str] = (COMBINED,),
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    certificate: bool | None = None,
) -> Callback:
    """Save the documents of every completed envelope under ``directory``.

    Registers (on a ``Receiver`` or ``Router``) an ``on_envelope_completed`` callback that
    writes each of ``documents`` (``combined`` by default; ``certificate``, ``archive`` or
    document ids) to ``<directory>/<envelope id>/<document id>.pdf`` (``archive.zip``),
    through :func:`fetch_document`. A file already there is kept (each is written
    atomically, so it is complete): a retried callback fetches only what is missing. A
    document larger than ``max_bytes`` is not saved; an error is logged and the others are
    still saved (retrying would not make it smaller). Returns the callback.
    """
    names = {document_id: _file_name(document_id) for document_id in documents}

    def save_completed_documents(delivery: Delivery) -> None:
        folder = completed_directory(directory, delivery.envelope_id)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for document_id, name in names.items():
            target = folder / name
            if target.exists():
                continue
            try:
                fetch_document(
                    client,
                    delivery,
                    target,
                    document_id,
                    certificate=certificate,
                    max_bytes=max_bytes,
                )
            except DocumentTooLarge as exc:
                log.error(
                    "not saving document %s of envelope %s: larger than %d bytes",
                    document_id,
                    delivery.envelope_id,
                    exc.limit,
                )

    return routes.on_envelope_completed(save_completed_documents)
