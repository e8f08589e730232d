"""``connect-mw serve``: a standalone receiver — uvicorn, the ASGI app, SQLite by default.

Every option also reads an environment variable, so a container needs no flags::

    CONNECT_MW_HMAC_KEYS=<key> connect-mw serve --host 0.0.0.0 --port 8000
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ..health import DEFAULT_READY_TIMEOUT, HEALTHZ, READYZ
from ..metrics import PrometheusMetrics
from ..queues import Queue
from ..receiver import DEFAULT_MAX_BODY_SIZE, DEFAULT_PATH, Receiver
from ..retention import RetentionThread
from ..stores import DEFAULT_STORE_URI, Store
from .app import (
    add_app_argument,
    app_receiver,
    callbacks_line,
    check_http_flags,
    describe_store,
    runs_callbacks,
)
from .auth_options import (
    ENVIRONMENT,
    add_auth_options,
    authentication_line,
    client_certificate_from,
    oauth_from,
)
from .common import (
    Subparsers,
    account_keys,
    add_encryption_argument,
    add_log_arguments,
    answering,
    encryptor_from,
    log_level,
)
from .failures import check_listen
from .numbers import MAX_BODY_SIZE, MAX_SECONDS, env_default, number
from .retention import add_retention_arguments, purge_every_from, retention_from

if TYPE_CHECKING:
    from starlette.types import ASGIApp

log = logging.getLogger("connect_mw")

_SERVE_EPILOG = (
    """\
examples:
  connect-mw serve --hmac-key "$DOCUSIGN_HMAC_KEY"   # records; `connect-mw worker` runs callbacks
  connect-mw serve --app myapp.hooks:receiver        # your receiver: its callbacks run here
  connect-mw serve --hmac-key OLD --hmac-key NEW            # during key rotation
  connect-mw serve --account-key 7ed9...294a=KEY --store sqlite:///events.db
  CONNECT_MW_HMAC_KEYS=KEY1,KEY2 connect-mw serve --host 0.0.0.0 --port 8080 \\
      --dashboard-token "$(openssl rand -hex 24)"
  connect-mw serve --hmac-key KEY --oauth-issuer https://login.example.com/t/v2.0 \\
      --oauth-audience api://connect --oauth-jwks-url https://login.example.com/t/keys
  connect-mw serve --hmac-key KEY --client-cert-header x-ssl-client-cert \\
      --client-cert-subject "CN=<DocuSign's Connect CN>,O=<its O>"

Prometheus metrics: --metrics serves GET /metrics (pip install 'connect-mw[prometheus]').
Health checks: GET /healthz (the process answers) and GET /readyz (the store answers within
--ready-timeout seconds, else 503); --no-health turns them off.

The dashboard is at /dashboard/ (open /dashboard/?token=TOKEN once when a token is set). On
localhost it needs no token; bound elsewhere it is served only with --dashboard-token or
--dashboard-basic-auth, and left out otherwise.

environment: CONNECT_MW_HMAC_KEYS (comma-separated), CONNECT_MW_ACCOUNT_KEYS
(ACCOUNT=KEY,...), CONNECT_MW_BASIC_AUTH (user:password), CONNECT_MW_STORE, CONNECT_MW_PATH,
CONNECT_MW_HOST, CONNECT_MW_PORT, CONNECT_MW_MAX_BODY_SIZE, CONNECT_MW_ALLOW_UNAUTHENTICATED=1,
CONNECT_MW_DASHBOARD_TOKEN, CONNECT_MW_DASHBOARD_BASIC_AUTH (user:password), CONNECT_MW_APP,
CONNECT_MW_RETENTION_DAYS, CONNECT_MW_PURGE_EVERY (seconds; 0 = off), CONNECT_MW_LOG_LEVEL,
CONNECT_MW_LOG_FORMAT (text|json), CONNECT_MW_READY_TIMEOUT, CONNECT_MW_METRICS=1,
CONNECT_MW_PROBE_TIMEOUT (seconds the store has to answer at start; default 1),
"""
    + ENVIRONMENT
    + "\n"
)
DASHBOARD_PATH = "/dashboard"
METRICS_PATH = "/metrics"


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def add_parser(commands: Subparsers) -> None:
    """Add ``serve`` to the command line."""
    serve = commands.add_parser(
        "serve",
        help="run a standalone Connect receiver",
        description="Run a standalone DocuSign Connect receiver (uvicorn + SQLite).",
        epilog=_SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    env = os.environ.get
    serve.add_argument("--host", default=env("CONNECT_MW_HOST", "127.0.0.1"))
    serve.add_argument(
        "--port",
        type=number(1, 65535, integer=True, env="CONNECT_MW_PORT"),
        default=env_default("CONNECT_MW_PORT", 8000),
    )
    serve.add_argument("--path", default=env("CONNECT_MW_PATH", DEFAULT_PATH))
    serve.add_argument(
        "--store",
        default=env("CONNECT_MW_STORE", DEFAULT_STORE_URI),
        help="store URI (default: %(default)s)",
    )
    serve.add_argument(
        "--hmac-key",
        action="append",
        default=_env_list("CONNECT_MW_HMAC_KEYS"),
        metavar="KEY",
        help="an HMAC key, used verbatim; repeat for rotation",
    )
    serve.add_argument(
        "--account-key",
        action="append",
        default=_env_list("CONNECT_MW_ACCOUNT_KEYS"),
        metavar="ACCOUNT=KEY",
        help="a key for one account (X-DocuSign-AccountId); repeatable",
    )
    serve.add_argument(
        "--basic-auth",
        default=env("CONNECT_MW_BASIC_AUTH"),
        metavar="USER:PASSWORD",
        help="also require this Basic auth",
    )
    serve.add_argument(
        "--max-body-size",
        type=number(0, MAX_BODY_SIZE, integer=True, above=True, env="CONNECT_MW_MAX_BODY_SIZE"),
        default=env_default("CONNECT_MW_MAX_BODY_SIZE", DEFAULT_MAX_BODY_SIZE),
        metavar="BYTES",
    )
    serve.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        default=env("CONNECT_MW_ALLOW_UNAUTHENTICATED", "") in {"1", "true"},
        help="accept requests without any authentication (development only)",
    )
    add_log_arguments(serve)
    serve.add_argument(
        "--lease-seconds",
        type=number(0, MAX_SECONDS, above=True, env="CONNECT_MW_LEASE_SECONDS"),
        default=env_default("CONNECT_MW_LEASE_SECONDS", 300.0),
        help="how long a worker may hold an event before another takes it (default 300)",
    )
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="with --app: do not run its callbacks here (run `connect-mw worker` instead)",
    )
    add_auth_options(serve)
    add_encryption_argument(serve)
    add_app_argument(serve)
    add_retention_arguments(serve, with_days=True)
    _add_dashboard_arguments(serve)
    _add_health_arguments(serve)
    serve.set_defaults(run=run)


def _add_health_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument(
        "--metrics",
        action="store_true",
        default=os.environ.get("CONNECT_MW_METRICS", "") in {"1", "true"},
        help=f"export Prometheus metrics at GET {METRICS_PATH} (needs connect-mw[prometheus])",
    )
    serve.add_argument(
        "--no-health",
        action="store_true",
        help=f"do not serve GET {HEALTHZ} (liveness) and GET {READYZ} (the store answers)",
    )
    serve.add_argument(
        "--ready-timeout",
        type=number(0, MAX_SECONDS, above=True, env="CONNECT_MW_READY_TIMEOUT"),
        default=env_default("CONNECT_MW_READY_TIMEOUT", DEFAULT_READY_TIMEOUT),
        metavar="SECONDS",
        help=f"{READYZ} answers 503 when the store takes longer (default: %(default)s)",
    )


def _add_dashboard_arguments(serve: argparse.ArgumentParser) -> None:
    env = os.environ.get
    serve.add_argument(
        "--no-dashboard", action="store_true", help=f"do not serve the {DASHBOARD_PATH}/ pages"
    )
    serve.add_argument(
        "--dashboard-token",
        default=env("CONNECT_MW_DASHBOARD_TOKEN"),
        metavar="TOKEN",
        help="require this token for the dashboard (Bearer header, or ?token= once)",
    )
    serve.add_argument(
        "--dashboard-basic-auth",
        default=env("CONNECT_MW_DASHBOARD_BASIC_AUTH"),
        metavar="USER:PASSWORD",
        help="or require these Basic credentials for the dashboard",
    )


def _user_password(value: str | None, option: str) -> tuple[str, str] | None:
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep:
        raise ConfigurationError(f"{option} takes USER:PASSWORD")
    return user, password


def build_receiver(args: argparse.Namespace) -> Receiver:
    """The receiver ``serve`` runs, from parsed arguments (``--app``'s, when given)."""
    if args.app:
        receiver = app_receiver(args)
        if getattr(args, "metrics", False) and not isinstance(receiver.metrics, PrometheusMetrics):
            log.warning(
                "--metrics: %s records no Prometheus metrics; give it "
                "metrics=PrometheusMetrics() (only other collectors are exported)",
                args.app,
            )
        return receiver
    check_http_flags(args)
    basic = _user_password(args.basic_auth, "--basic-auth")
    oauth, certificate = oauth_from(args), client_certificate_from(args)
    given = (args.hmac_key, args.account_key, basic, oauth, certificate)
    if not (any(given) or args.allow_unauthenticated):
        raise ConfigurationError(
            "no authentication configured: give --hmac-key KEY (or --account-key, "
            "--basic-auth, --oauth-issuer…, --client-cert-subject…, CONNECT_MW_HMAC_KEYS), "
            "or --allow-unauthenticated for development"
        )
    return Receiver(
        metrics=PrometheusMetrics() if getattr(args, "metrics", False) else None,
        hmac_keys=args.hmac_key,
        account_keys=account_keys(args.account_key),
        oauth=oauth,
        client_certificate=certificate,
        store=args.store,
        path=args.path,
        max_body_size=args.max_body_size,
        basic_auth=basic,
        allow_unauthenticated=args.allow_unauthenticated,
        lease_for=timedelta(seconds=args.lease_seconds),
        encryptor=encryptor_from(args),
        retention=retention_from(args),
        purge_every=purge_every_from(args),
    )


def build_dashboard(args: argparse.Namespace, store: Store, queue: Queue) -> ASGIApp | None:
    """The dashboard mounted at ``/dashboard``, or ``None`` when it is off or cannot be safe.

    Retries from it go to ``queue`` (the receiver's, so they wake its worker at once).
    Bound beyond localhost without ``--dashboard-token`` / ``--dashboard-basic-auth`` it is
    left out (with a warning) rather than exposed; without jinja2 too.
    """
    if args.no_dashboard:
        return None
    basic = _user_password(args.dashboard_basic_auth, "--dashboard-basic-auth")
    try:
        from starlette.applications import Starlette  # noqa: PLC0415
        from starlette.routing import Mount  # noqa: PLC0415

        from ..dashboard import Dashboard  # noqa: PLC0415 - needs jinja2
        from ..dashboard.auth import is_loopback  # noqa: PLC0415
    except ImportError:
        log.warning("dashboard off: it needs jinja2 (pip install 'connect-mw[dashboard]')")
        return None
    if not args.dashboard_token and basic is None and not is_loopback(args.host):
        log.warning(
            "dashboard off: %s is not localhost; give --dashboard-token or "
            "--dashboard-basic-auth to serve it",
            args.host,
        )
        return None
    dashboard = Dashboard(
        store, token=args.dashboard_token, basic_auth=basic, bind_host=args.host, queue=queue
    )
    log.info("dashboard at http://%s:%d%s/", args.host, args.port, DASHBOARD_PATH)
    return Starlette(routes=[Mount(DASHBOARD_PATH, app=dashboard)])


class Route:
    """ASGI: ``GET path`` to ``target``, everything else (lifespan included) to ``app``."""

    def __init__(self, path: str, target: Any, app: Any) -> None:
        self.path, self.target, self.app = path, target, app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Dispatch one ASGI scope."""
        if scope["type"] == "http" and scope["path"] == self.path:
            await self.target(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def build_app(args: argparse.Namespace, receiver: Receiver, *, run_worker: bool) -> ASGIApp:
    """The ASGI app ``serve`` runs: ``receiver`` at its path; dashboard, health, metrics beside."""
    from ..adapters.asgi import ConnectASGIMiddleware  # noqa: PLC0415 - needs starlette

    dashboard = build_dashboard(args, receiver.store, receiver.queue)
    app: ASGIApp = ConnectASGIMiddleware(dashboard, receiver=receiver, run_worker=run_worker)
    if not args.no_health:
        from ..adapters.health import HealthASGIMiddleware  # noqa: PLC0415

        app = HealthASGIMiddleware(app, receiver.store, timeout=args.ready_timeout)
    if getattr(args, "metrics", False):
        import prometheus_client  # noqa: PLC0415 - optional, checked by build_receiver

        registry = prometheus_client.REGISTRY  # where --metrics records, and --app's default
        if isinstance(receiver.metrics, PrometheusMetrics):
            registry = receiver.metrics.registry
        app = Route(METRICS_PATH, prometheus_client.make_asgi_app(registry), app)
        log.info("Prometheus metrics at http://%s:%d%s", args.host, args.port, METRICS_PATH)
    return app


def run(args: argparse.Namespace) -> int:
    """Run uvicorn with the standalone ASGI receiver until interrupted."""
    try:
        import uvicorn  # noqa: PLC0415 - optional dependency, only ``serve`` needs it
    except ImportError:
        print("connect-mw serve needs uvicorn: pip install 'connect-mw[server]'", file=sys.stderr)
        return 2

    check_listen(args.host, args.port)
    receiver = build_receiver(args)
    answering(receiver.store, None if args.app else args.store)
    run_worker = runs_callbacks(receiver, args)
    app = build_app(args, receiver, run_worker=run_worker)
    log.info(
        "connect-mw listening on http://%s:%d%s, store %s",
        args.host,
        args.port,
        receiver.path,
        describe_store(receiver.store, None if args.app else args.store),
    )
    log.info("%s", authentication_line(receiver.authenticator))
    log.info("%s", callbacks_line(receiver, args, run_worker))
    # Without a worker (whose loop purges) serve still purges, in a thread of its own.
    purging = None if run_worker else RetentionThread(receiver.store, receiver.purge_every)
    if purging is not None:
        purging.start()
    try:
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level=log_level(args),
            log_config=None,  # uvicorn's records go to the root handler: one format, redacted
            lifespan="on",
        )
    finally:
        if purging is not None:
            purging.stop()
    return 0
