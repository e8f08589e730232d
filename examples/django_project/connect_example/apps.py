"""The example's own app: connects its signal receivers."""

from __future__ import annotations

from django.apps import AppConfig


class ExampleConfig(AppConfig):
    """Imports :mod:`connect_example.receivers` once the app registry is ready."""

    name = "connect_example"

    def ready(self) -> None:
        from . import receivers  # noqa: F401, PLC0415
