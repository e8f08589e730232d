"""``ESignClient`` and ``AsyncESignClient``: two faces of one set of operations.

Each operation is declared once, in :class:`Operations`, from its steps in
:mod:`connect_mw.rest.operations`; the sync face runs the steps with ``httpx.Client``, the
async face with ``httpx.AsyncClient`` (same arguments, results awaited)::

    settings = DocuSignSettings.from_env()
    with ESignClient(settings) as client:
        envelope = client.get_envelope("4b72...")
        client.download_document_to("4b72...", "signed.pdf")

    async with AsyncESignClient(settings) as client:
        failures = await client.list_connect_failures()

``sleep`` (the wait before a retry) and ``clock`` (epoch seconds, for token expiry and rate
limit resets) can be injected; ``http`` is an ``httpx`` client of your own (proxies,
certificates), closed by you.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from functools import update_wrapper
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

import anyio
import httpx

from . import operations as ops
from .retry import RetryPolicy
from .sending import Clock
from .session import Session
from .settings import DocuSignSettings
from .transport import AsyncSleep, SyncSleep, arun, run
from .wire import Steps

_P = ParamSpec("_P")
_T = TypeVar("_T")
#: Seconds to connect, and to wait for each read, by default.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class Operation(Generic[_P, _T]):
    """One operation, exposed as a method of both faces.

    On an :class:`ESignClient` it returns the result; on an :class:`AsyncESignClient` a
    coroutine of it. Its documentation is the steps function's.
    """

    def __init__(self, steps: Callable[Concatenate[Session, _P], Steps[_T]]) -> None:
        self.steps = steps
        self.__doc__ = steps.__doc__
        self.name = steps.__name__
        signature = inspect.signature(steps)  # less the session, and the steps' return type
        self.signature = signature.replace(
            parameters=list(signature.parameters.values())[1:],
            return_annotation=inspect.Signature.empty,
        )

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Operation[_P, _T]: ...
    @overload
    def __get__(self, client: ESignClient, owner: type[Any]) -> Callable[_P, _T]: ...
    @overload
    def __get__(
        self, client: AsyncESignClient, owner: type[Any]
    ) -> Callable[_P, Awaitable[_T]]: ...
    def __get__(self, client: Any, owner: type[Any]) -> Any:
        if client is None:
            return self

        def bound(*args: _P.args, **kwargs: _P.kwargs) -> Any:
            return client.execute(self.steps(client.session, *args, **kwargs))

        update_wrapper(bound, self.steps)
        del bound.__wrapped__  # type: ignore[attr-defined]  # help() shows the signature below
        bound.__dict__["__signature__"] = self.signature  # without the session argument
        return bound


class Operations:
    """The operations both faces offer, each declared once."""

    get_account = Operation(ops.get_account)
    list_status_changes = Operation(ops.list_status_changes)
    list_status_changes_page = Operation(ops.list_status_changes_page)
    get_envelope = Operation(ops.get_envelope)
    list_recipients = Operation(ops.list_recipients)
    list_documents = Operation(ops.list_documents)
    download_document = Operation(ops.download_document)
    download_document_to = Operation(ops.download_document_to)
    get_form_data = Operation(ops.get_form_data)
    list_connect_failures = Operation(ops.list_connect_failures)
    republish = Operation(ops.republish)
    list_connect_configurations = Operation(ops.list_connect_configurations)

    session: Session


#: The names of every operation (the parity test runs each through both faces).
OPERATION_NAMES = tuple(
    name for name, value in vars(Operations).items() if isinstance(value, Operation)
)


class ESignClient(Operations):
    """The eSignature REST client, synchronous. Use it as a context manager, or ``close``."""

    def __init__(
        self,
        settings: DocuSignSettings,
        *,
        http: httpx.Client | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: SyncSleep = time.sleep,
        clock: Clock = time.time,
    ) -> None:
        self.session = Session(settings, retry, clock)
        self._owned = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"ESignClient({self.session!r})"

    def execute(self, steps: Steps[_T]) -> _T:
        """Run the steps of an operation (all methods go through here)."""
        return run(steps, self._http, self._sleep)

    def close(self) -> None:
        """Close the HTTP client (unless it was passed in)."""
        if self._owned:
            self._http.close()

    def __enter__(self) -> ESignClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncESignClient(Operations):
    """The eSignature REST client for ``asyncio`` (or trio) code: every method is awaited."""

    def __init__(
        self,
        settings: DocuSignSettings,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: AsyncSleep = anyio.sleep,
        clock: Clock = time.time,
    ) -> None:
        self.session = Session(settings, retry, clock)
        self._owned = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=timeout)
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"AsyncESignClient({self.session!r})"

    async def execute(self, steps: Steps[_T]) -> _T:
        """Run the steps of an operation (all methods go through here)."""
        return await arun(steps, self._http, self._sleep)

    async def aclose(self) -> None:
        """Close the HTTP client (unless it was passed in)."""
        if self._owned:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncESignClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
