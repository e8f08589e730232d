"""The Django app: ``INSTALLED_APPS += ["connect_mw.adapters.django"]`` (label ``connect_mw``)."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks
from django.core.signals import setting_changed


class ConnectConfig(AppConfig):
    """Models, admin, signals and management commands of connect-mw."""

    name = "connect_mw.adapters.django"
    label = "connect_mw"
    verbose_name = "DocuSign Connect"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the system checks; rebuild the receiver when tests override settings."""
        from .checks import check_connect_settings  # noqa: PLC0415
        from .runtime import on_setting_changed  # noqa: PLC0415

        checks.register(check_connect_settings)
        setting_changed.connect(on_setting_changed, dispatch_uid="connect_mw_settings")
