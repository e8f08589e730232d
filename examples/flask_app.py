"""A Flask app with the connect-mw extension, configured from ``app.config``.

Run:  CONNECT_MW_HMAC_KEYS=your-key .venv/bin/flask --app examples/flask_app run --port 8000
  or  CONNECT_MW_HMAC_KEYS=your-key .venv/bin/python examples/flask_app.py --port 8000
(run directly, ``--port N`` or the ``PORT`` variable choose the port: 8000 by default).

POST signed notifications to http://127.0.0.1:8000/docusign/connect; ``GET /`` and
``POST /echo`` are the app's own views (``/echo`` reads its body: the extension leaves it
alone). Completed envelopes are appended to ``completed.log`` (or ``$COMPLETED_LOG``) by a
callback that runs inside the app context (it reads ``current_app.config``).
"""

from __future__ import annotations

import argparse
import os

from flask import Flask, Response, current_app, request

from connect_mw import Delivery
from connect_mw.adapters.flask import Connect

connect = Connect()


@connect.on_envelope_completed
def record_completion(delivery: Delivery) -> None:
    path = current_app.config["COMPLETED_LOG"]
    with open(path, "a", encoding="utf-8") as log:
        log.write(f"{delivery.envelope_id} completed ({delivery.notification.subject})\n")


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(
        COMPLETED_LOG=os.environ.get("COMPLETED_LOG", "completed.log"),
        DOCUSIGN_CONNECT_HMAC_KEYS=os.environ.get("CONNECT_MW_HMAC_KEYS", ""),
        DOCUSIGN_CONNECT_STORE=os.environ.get("CONNECT_MW_STORE", "sqlite:///connect-mw.sqlite3"),
    )
    connect.init_app(app)

    @app.get("/")
    def hello() -> str:
        return "hello from the wrapped app\n"

    @app.post("/echo")
    def echo() -> Response:
        return Response(b"echo:" + request.get_data(), mimetype="application/octet-stream")

    return app


def listen_port() -> int:
    """``--port N`` from the command line, else the ``PORT`` variable, else 8000."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    return int(parser.parse_args().port)


if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=listen_port())
