"""``Simulator``: realistic, signed Connect traffic for your own tests.

::

    from connect_mw.testing.simulator import Simulator

    simulator = Simulator(hmac_keys="the key your receiver uses", seed=7)
    completed = simulator.lifecycle("completed")
    simulator.deliver(receiver, simulator.messages(completed))  # in process, no HTTP
    simulator.check(receiver.store, [completed])  # AssertionError unless folded right

    report = simulator.send_sync("http://127.0.0.1:8000/docusign/connect",
                                 simulator.messages(*simulator.lifecycles(50)),
                                 duplicates=0.2, shuffle=True)

The pytest plugin (:mod:`connect_mw.testing.pytest_plugin`) gives you one as the
``connect_simulator`` fixture.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from ..http import Response
from ..receiver import Receiver
from ..simulate import (
    KINDS,
    Account,
    DeliveryOptions,
    Lifecycle,
    Report,
    SimulatedMessage,
    adeliver,
    build_lifecycle,
    deliver,
    messages_for,
)
from ..stores import Store

__all__ = ["Simulator"]


class Simulator:
    """Builds lifecycles, renders them as signed messages, delivers them.

    ``hmac_keys`` sign every message (one ``X-DocuSign-Signature-N`` per key, as during a
    key rotation). ``seed`` makes ids, names and timestamps reproducible.
    """

    def __init__(
        self,
        hmac_keys: str | Sequence[str] = (),
        *,
        account: Account | None = None,
        seed: int | None = None,
    ) -> None:
        self.hmac_keys = (hmac_keys,) if isinstance(hmac_keys, str) else tuple(hmac_keys)
        self.account = account or Account()
        self.seed = seed
        self.rng = random.Random(seed)

    def lifecycle(self, kind: str = "completed", *, envelope_id: str | None = None) -> Lifecycle:
        """One envelope's lifecycle of ``kind``.

        ``completed``, ``routing``, ``declined``, ``voided``, ``corrected`` or ``resent``
        (see :func:`connect_mw.simulate.build_lifecycle`).
        """
        return build_lifecycle(kind, rng=self.rng, envelope_id=envelope_id)

    def lifecycles(self, count: int, kinds: Sequence[str] = KINDS) -> list[Lifecycle]:
        """``count`` lifecycles cycling through ``kinds``."""
        return [self.lifecycle(kinds[n % len(kinds)]) for n in range(count)]

    def messages(
        self,
        *lifecycles: Lifecycle,
        payload_format: str = "json",
        document_size: int | None = None,
    ) -> list[SimulatedMessage]:
        """Every moment of ``lifecycles`` as messages in ``payload_format``.

        Formats: ``json``, ``json-summary``, ``json-documents``, ``xml``.
        """
        return messages_for(
            lifecycles, payload_format, account=self.account, document_size=document_size
        )

    def deliver(
        self, receiver: Receiver, messages: Sequence[SimulatedMessage], *, retry_count: int = 0
    ) -> list[Response]:
        """Hand each message to ``receiver.handle`` (no HTTP); return the answers."""
        path = receiver.path
        return [
            receiver.handle(message.request(self.hmac_keys, path=path, retry_count=retry_count))
            for message in messages
        ]

    def options(self, url: str, **options: Any) -> DeliveryOptions:
        """Delivery options for ``url``, signed with this simulator's keys.

        ``options`` override the defaults of :class:`~connect_mw.simulate.DeliveryOptions`
        (``duplicates``, ``shuffle``, ``max_attempts`` …).
        """
        options.setdefault("seed", self.seed)
        return DeliveryOptions(url=url, hmac_keys=self.hmac_keys, **options)

    async def send(self, url: str, messages: Sequence[SimulatedMessage], **options: Any) -> Report:
        """Deliver over HTTP like DocuSign (timeouts, retries …); see :meth:`options`."""
        transport = options.pop("transport", None)
        return await adeliver(messages, self.options(url, **options), transport=transport)

    def send_sync(self, url: str, messages: Sequence[SimulatedMessage], **options: Any) -> Report:
        """:meth:`send` from synchronous code."""
        transport = options.pop("transport", None)
        return deliver(messages, self.options(url, **options), transport=transport)

    @staticmethod
    def mismatches(
        store: Store, lifecycles: Sequence[Lifecycle], payload_format: str = "json"
    ) -> list[str]:
        """How ``store``'s folded states differ from the lifecycles' truth (empty: none).

        Recipients are compared by GUID for ``xml`` (the id XML carries) and, for minimal
        ``json``, only those a ``recipient-*`` event named.
        """
        problems: list[str] = []
        for lifecycle in lifecycles:
            state = store.get_envelope(lifecycle.envelope_id)
            if state is None:
                problems.append(f"{lifecycle.envelope_id} ({lifecycle.kind}): not stored")
                continue
            status = None if state.status is None else state.status.value
            if status != lifecycle.final_status:
                problems.append(
                    f"{lifecycle.envelope_id} ({lifecycle.kind}): status {status}, "
                    f"expected {lifecycle.final_status}"
                )
            expected = lifecycle.final_recipients(
                by_guid=payload_format == "xml", reported_only=payload_format == "json"
            )
            found = {r.recipient_id: str(r.status) for r in state.recipients}
            if found != expected:
                problems.append(
                    f"{lifecycle.envelope_id} ({lifecycle.kind}): recipients {found}, "
                    f"expected {expected}"
                )
        return problems

    def check(
        self, store: Store, lifecycles: Sequence[Lifecycle], payload_format: str = "json"
    ) -> None:
        """Raise ``AssertionError`` unless every lifecycle ended in its true final state."""
        problems = self.mismatches(store, lifecycles, payload_format)
        if problems:
            raise AssertionError("\n".join(problems))
