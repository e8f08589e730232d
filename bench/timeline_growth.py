"""How an envelope's stored state grows with the messages folded into it.

One envelope with ``RECIPIENTS`` recipients receives ``MESSAGES`` messages, each a full
recipient list at its own time (DocuSign resends the whole summary on every event): the
recipients step through sent → delivered → completed, one recipient moving per message,
with a correction (delivered → sent) now and then. Prints the stored state's size
(``dump_state``), the number of timeline points, and the time of the last folds.

    python bench/timeline_growth.py [RECIPIENTS] [MESSAGES]
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from connect_mw.model import EnvelopeState
from connect_mw.state import fold
from connect_mw.stores.api import dump_state
from connect_mw.testing import notification, recipient
from connect_mw.testing.builders import BASE_TIME

STEPS = ["sent", "delivered", "sent", "delivered", "completed"]  # one correction on the way


def run(recipients: int, messages: int) -> None:
    progress = [0] * recipients
    entered: list[dict[str, object]] = [{"sent": BASE_TIME} for _ in range(recipients)]
    state: EnvelopeState | None = None
    start = time.perf_counter()
    last_folds = 0.0
    for i in range(messages):
        at = BASE_TIME + timedelta(minutes=i + 1)
        who = i % recipients
        if progress[who] < len(STEPS) - 1 and i % 7 == 0:
            progress[who] += 1
            entered[who][STEPS[progress[who]]] = at
        listed = tuple(
            recipient(
                str(n + 1),
                STEPS[progress[n]],
                sent_at=entered[n].get("sent"),  # type: ignore[arg-type]
                delivered_at=entered[n].get("delivered"),  # type: ignore[arg-type]
                signed_at=entered[n].get("completed"),  # type: ignore[arg-type]
            )
            for n in range(recipients)
        )
        message = notification("env", "sent", at=at, recipients=listed, full_recipient_list=True)
        began = time.perf_counter()
        state = fold(state, message).state
        if i >= messages - 10:
            last_folds += time.perf_counter() - began
    assert state is not None
    total = time.perf_counter() - start
    points = len(state.timeline) + sum(len(r.timeline) for r in state.recipients)
    print(
        f"{recipients} recipients x {messages} messages: state {len(dump_state(state)):,} bytes, "
        f"{points:,} timeline points, all folds {total:.2f} s, "
        f"last fold {last_folds / 10 * 1000:.1f} ms"
    )


if __name__ == "__main__":
    arguments = [int(value) for value in sys.argv[1:3]]
    run(*arguments, *[50, 1000][len(arguments) :])
