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
from ..model import PayloadFormat
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
from ..simulate.messages import FULL_LIST_FORMATS, XML_FORMATS, delivered
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
        """One lifecycle of ``kind``: one of :data:`connect_mw.simulate.KINDS`.

        Between them they produce all 26 Connect event triggers; see
        :func:`connect_mw.simulate.build_lifecycle`.
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
        events: Sequence[str] | None = None,
    ) -> list[SimulatedMessage]:
        """Every moment of ``lifecycles`` as messages in ``payload_format``.

        Formats: ``json`` (with the envelope summary), ``json-minimal``,
        ``json-documents``, ``xml``, ``xml-no-time-zone``. ``events`` keeps only those
        event names, as a subscription does (default: every event).
        """
        return messages_for(
            lifecycles,
            payload_format,
            account=self.account,
            document_size=document_size,
            events=events,
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
        store: Store,
        lifecycles: Sequence[Lifecycle],
        payload_format: str = "json",
        events: Sequence[str] | None = None,
    ) -> list[str]:
        """How ``store`` differs from the lifecycles' truth (empty: not at all).

        ``events`` is the subscription the messages were filtered by (``None``: all). For
        each envelope: its status and each recipient's, and which recipients a later full
        recipient list removed; recipients are compared by GUID in XML (the id XML carries)
        and, for ``json-minimal``, as far as the events themselves tell. Template and click
        events: one stored event, about no envelope, for each message.
        """
        seen = delivered(lifecycles, payload_format, events)
        problems = [
            problem
            for lifecycle in seen
            if lifecycle.about_envelope
            for problem in _envelope_mismatches(store, lifecycle, payload_format)
        ]
        expected = sum(len(lifecycle.moments) for lifecycle in seen if not lifecycle.about_envelope)
        stored = [
            e
            for e in store.list_events()
            if e.envelope_id == "" and e.format is not PayloadFormat.UNPARSED
        ]
        if len(stored) != expected:
            problems.append(f"{len(stored)} events about no envelope stored, expected {expected}")
        return problems

    def check(
        self,
        store: Store,
        lifecycles: Sequence[Lifecycle],
        payload_format: str = "json",
        events: Sequence[str] | None = None,
    ) -> None:
        """Raise ``AssertionError`` unless every lifecycle ended in its true final state."""
        problems = self.mismatches(store, lifecycles, payload_format, events)
        if problems:
            raise AssertionError("\n".join(problems))


def _envelope_mismatches(store: Store, lifecycle: Lifecycle, payload_format: str) -> list[str]:
    """How the stored state of one envelope differs from its truth."""
    name = f"{lifecycle.envelope_id} ({lifecycle.kind})"
    state = store.get_envelope(lifecycle.envelope_id)
    if state is None:
        return [f"{name}: not stored"]
    by_guid = payload_format in XML_FORMATS
    if payload_format in FULL_LIST_FORMATS:
        expected_status: str | None = lifecycle.final_status
        expected = lifecycle.final_recipients(by_guid=by_guid)
        removed = lifecycle.removed_recipients(by_guid=by_guid)
    else:
        expected_status, expected = lifecycle.reported_truth()
        removed = set()
    problems = []
    status = None if state.status is None else state.status.value
    if status != expected_status:
        problems.append(f"{name}: status {status}, expected {expected_status}")
    found = {r.recipient_id: str(r.status) for r in state.recipients if not r.removed}
    if found != expected:
        problems.append(f"{name}: recipients {found}, expected {expected}")
    gone = {r.recipient_id for r in state.recipients if r.removed}
    if gone != removed:
        problems.append(f"{name}: removed recipients {sorted(gone)}, expected {sorted(removed)}")
    return problems
