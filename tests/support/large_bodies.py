"""Large signed notifications: XML carrying PDFs, and JSON of an exact size.

``xml_with_pdfs`` is the shape DocuSign sends when "include documents" is on: an XML legacy
notification whose bulk is two base64 PDFs (random bytes, incompressible like real ones).
``exact_json`` pads a JSON SIM body with whitespace to exactly ``size`` bytes, for the
bodies at the size limit and one byte past it.
"""

from __future__ import annotations

import base64
import os

from support.deliveries import sim_body

NS = "http://www.docusign.net/API/3.0"


def xml_with_pdfs(total: int, envelope_id: str) -> bytes:
    """A completed-envelope XML notification of about ``total`` bytes, mostly two PDFs."""
    each = (total * 3 // 4) // 2  # raw bytes per PDF: base64 adds a third
    pdfs = "".join(
        f"<DocumentPDF><Name>document{n}.pdf</Name>"
        f"<PDFBytes>{base64.b64encode(os.urandom(each)).decode('ascii')}</PDFBytes>"
        f"<DocumentID>{n}</DocumentID><DocumentType>CONTENT</DocumentType></DocumentPDF>"
        for n in (1, 2)
    )
    text = (
        f'<?xml version="1.0" encoding="utf-8"?><DocuSignEnvelopeInformation xmlns="{NS}">'
        "<EnvelopeStatus><TimeGenerated>2026-01-05T09:00:00.1234567</TimeGenerated>"
        f"<EnvelopeID>{envelope_id}</EnvelopeID><Subject>Large</Subject>"
        "<Status>Completed</Status></EnvelopeStatus>"
        f"<DocumentPDFs>{pdfs}</DocumentPDFs></DocuSignEnvelopeInformation>"
    )
    return text.encode()


def exact_json(size: int, envelope_id: str) -> bytes:
    """A JSON SIM notification of exactly ``size`` bytes (whitespace before its last brace)."""
    body = sim_body(envelope_id=envelope_id)
    padding = size - len(body)
    if padding < 0:
        raise ValueError(f"a notification needs at least {len(body)} bytes")
    return body[:-1] + b" " * padding + body[-1:]
