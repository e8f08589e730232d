"""A read-only admin for stored events and envelope states, with a replay action.

Nothing can be added, edited or deleted here (the store owns these rows; retention purges
events). Raw bodies are never loaded into the admin, only their size is shown. "Replay
selected events" requeues events (``requeue`` on the store's queue) for users with the
``change_event`` permission; a worker then runs their callbacks and signals again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ...replay import Replayed, replay
from ...stores.codec import load_transitions
from .models import Envelope, Event, Recipient
from .store import DjangoStore

if TYPE_CHECKING:
    _EventAdmin = admin.ModelAdmin[Event]
    _EnvelopeAdmin = admin.ModelAdmin[Envelope]
    _RecipientInline = admin.TabularInline[Recipient, Envelope]
else:
    _EventAdmin = _EnvelopeAdmin = admin.ModelAdmin
    _RecipientInline = admin.TabularInline

_EVENT_FIELDS = (
    "key",
    "envelope_id",
    "account_id",
    "event",
    "status",
    "format",
    "occurred_at",
    "received_at",
    "raw_size",
    "transition_names",
    "processing",
    "attempts",
    "next_attempt_at",
    "lease_worker",
    "lease_until",
    "error",
)


_REFUSED = {
    Replayed.BUSY: "Being processed right now",
    Replayed.STILL_UNPARSED: "Body still cannot be parsed",
    Replayed.UNKNOWN: "No longer stored",
    Replayed.PURGED: "Body purged by retention",
}


class ReadOnly:
    """Admin mixin for viewing only: no add, change or delete, whoever asks."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Rows are written by the store only."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Rows are written by the store only."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Events are purged by retention; envelope states are kept."""
        return False


@admin.register(Event)
class EventAdmin(ReadOnly, _EventAdmin):
    """Stored deliveries: filter by processing state, event and status; replay them."""

    list_display = (
        "key",
        "envelope_id",
        "event",
        "status",
        "processing",
        "attempts",
        "received_at",
        "raw_size",
    )
    list_filter = ("processing", "event", "status")
    search_fields = ("=envelope_id", "=key")
    fields = _EVENT_FIELDS
    readonly_fields = _EVENT_FIELDS
    actions = ("replay",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Event]:
        """Events without their raw bodies (which may be tens of megabytes each)."""
        events: QuerySet[Event] = super().get_queryset(request).defer("raw", "body")
        return events

    @admin.display(description="transitions")
    def transition_names(self, event: Event) -> str:
        """The transitions the event caused, e.g. ``recipient-completed (1)``."""
        found = load_transitions(event.transitions)
        return ", ".join(
            f"{t.name} ({t.recipient_id})" if t.recipient_id else t.name for t in found
        )

    def has_replay_permission(self, request: HttpRequest) -> bool:
        """Replaying writes: it needs the ``change_event`` permission."""
        user = cast(Any, request.user)  # the admin's users have has_perm
        return bool(user.has_perm("connect_mw.change_event"))

    @admin.action(description="Replay selected events", permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[Event]) -> None:
        """Replay the selected events (requeued, or an unparsed dead letter parsed again)."""
        store = DjangoStore(using=queryset.db)
        queue = store.queue()
        keys = list(queryset.values_list("key", flat=True))
        refused: dict[Replayed, list[str]] = {}
        for key in keys:
            done = replay(store, queue, key)
            if not done.ok:
                refused.setdefault(done, []).append(key)
        queued = len(keys) - sum(len(k) for k in refused.values())
        self.message_user(request, f"Queued {queued} event(s) for processing.", messages.SUCCESS)
        for done, refused_keys in refused.items():
            why = _REFUSED[done]
            self.message_user(request, f"{why}: {', '.join(refused_keys)}", messages.WARNING)


class RecipientInline(_RecipientInline):
    """The recipients of an envelope's folded state."""

    model = Recipient
    fields = (
        "recipient_id",
        "name",
        "email",
        "recipient_type",
        "routing_order",
        "status",
        "status_at",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Recipients mirror the state; they are never added by hand."""
        return False


@admin.register(Envelope)
class EnvelopeAdmin(ReadOnly, _EnvelopeAdmin):
    """Envelope states: filter by status, search by id or subject; recipients inline."""

    list_display = ("envelope_id", "status", "subject", "event_count", "updated_at")
    list_filter = ("status",)
    search_fields = ("=envelope_id", "subject")
    fields = (
        "envelope_id",
        "account_id",
        "status",
        "status_at",
        "updated_at",
        "subject",
        "event_count",
        "events_link",
    )
    readonly_fields = fields
    inlines = (RecipientInline,)

    @admin.display(description="events")
    def events_link(self, envelope: Envelope) -> SafeString:
        """A link to this envelope's events."""
        url = reverse("admin:connect_mw_event_changelist")
        return format_html('<a href="{}?q={}">events of this envelope</a>', url, envelope.pk)
