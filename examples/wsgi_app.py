"""A plain WSGI app with connect-mw in front of it, served by the standard library.

Run:  CONNECT_MW_HMAC_KEYS=your-key .venv/bin/python examples/wsgi_app.py --port 8000
(run directly, ``--port N`` or the ``PORT`` variable choose the port: 8000 by default).

POST signed notifications to http://127.0.0.1:8000/docusign/connect; every other path is
served by ``hello`` below. Completed envelopes are appended to ``completed.log``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import make_server

from connect_mw import Delivery, Receiver
from connect_mw.adapters.wsgi import ConnectWSGIMiddleware

COMPLETED_LOG = Path(os.environ.get("COMPLETED_LOG", "completed.log"))

receiver = Receiver(
    hmac_keys=[k for k in os.environ.get("CONNECT_MW_HMAC_KEYS", "").split(",") if k],
    store=os.environ.get("CONNECT_MW_STORE", "sqlite:///connect-mw.sqlite3"),
)


@receiver.on_envelope_completed
def record_completion(delivery: Delivery) -> None:
    with COMPLETED_LOG.open("a", encoding="utf-8") as log:
        log.write(f"{delivery.envelope_id} completed ({delivery.notification.subject})\n")


def hello(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("content-type", "text/plain")])
    return [b"hello from the wrapped app\n"]


app = ConnectWSGIMiddleware(hello, receiver=receiver)


def listen_port() -> int:
    """``--port N`` from the command line, else the ``PORT`` variable, else 8000."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    return int(parser.parse_args().port)


if __name__ == "__main__":
    port = listen_port()
    with make_server("127.0.0.1", port, app) as server:
        print(f"listening on http://127.0.0.1:{port}/docusign/connect", flush=True)
        server.serve_forever()
