"""What the example does with Connect events: a signal receiver per transition it cares for."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.dispatch import receiver

from connect_mw import Delivery
from connect_mw.adapters.django.signals import envelope_completed


@receiver(envelope_completed)
def log_completion(sender: Any, delivery: Delivery, **kwargs: Any) -> None:
    """Append ``<envelope id> completed (<subject>)`` to ``COMPLETED_LOG``."""
    path = Path(os.environ.get("COMPLETED_LOG", "completed.log"))
    with path.open("a", encoding="utf-8") as log:
        log.write(f"{delivery.envelope_id} completed ({delivery.state.subject})\n")
