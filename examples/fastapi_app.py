"""A FastAPI app with connect-mw added as middleware.

Run:  CONNECT_MW_HMAC_KEYS=your-key .venv/bin/uvicorn examples.fastapi_app:app --port 8000
  or  CONNECT_MW_HMAC_KEYS=your-key .venv/bin/python examples/fastapi_app.py --port 8000
(run directly, ``--port N`` or the ``PORT`` variable choose the port: 8000 by default).

POST signed notifications to http://127.0.0.1:8000/docusign/connect; ``GET /`` and
``POST /echo`` are the app's own routes (``/echo`` reads its body: the middleware leaves it
alone). Completed envelopes are appended to ``completed.log`` (or ``$COMPLETED_LOG``).
To mount a route instead: ``app.router.routes.append(connect_route(receiver))``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from connect_mw import Delivery, Receiver
from connect_mw.adapters.starlette import ConnectASGIMiddleware

COMPLETED_LOG = Path(os.environ.get("COMPLETED_LOG", "completed.log"))

receiver = Receiver(
    hmac_keys=[k for k in os.environ.get("CONNECT_MW_HMAC_KEYS", "").split(",") if k],
    store=os.environ.get("CONNECT_MW_STORE", "sqlite:///connect-mw.sqlite3"),
)


@receiver.on_envelope_completed
def record_completion(delivery: Delivery) -> None:  # a plain function: runs in a thread
    with COMPLETED_LOG.open("a", encoding="utf-8") as log:
        log.write(f"{delivery.envelope_id} completed ({delivery.notification.subject})\n")


app = FastAPI()
app.add_middleware(ConnectASGIMiddleware, receiver=receiver)


@app.get("/", response_class=PlainTextResponse)
async def hello() -> str:
    return "hello from the wrapped app\n"


@app.post("/echo")
async def echo(request: Request) -> Response:
    return Response(b"echo:" + await request.body(), media_type="application/octet-stream")


def listen_port() -> int:
    """``--port N`` from the command line, else the ``PORT`` variable, else 8000."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    return int(parser.parse_args().port)


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=listen_port())
