"""Recipients' tabs (form fields), from JSON ``tabs.<kind>Tabs[]`` and XML ``TabStatuses``.

Tabs are secondary fields: a tab of an unexpected shape is skipped or left empty and logged,
never a reason to refuse the message. Their number is bounded: at most :data:`MAX_TABS` per
message (radio buttons count one each), the rest skipped with a warning, so a body of
millions of tiny tabs costs no more than its size already did to decode.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..display import display
from ..errors import ParseError
from ..model import Tab
from .values import boolean, clean_text, count, identifier
from .xml_tree import XmlElement, children
from .xml_view import XmlView

log = logging.getLogger("connect_mw")

#: Tabs read per message, every recipient together (DocuSign allows far fewer per envelope).
MAX_TABS = 10_000
_JSON_SUFFIX = "Tabs"
_T = TypeVar("_T")


class TabBudget:
    """What one message's tabs may still cost: tabs left to read, and one warning per kind.

    A hostile body can hold thousands of malformed tabs; each kind of warning (too many
    tabs, a field left empty) is logged once per message, not once per tab. With a
    ``sink`` (the parser's :class:`~.lenient.Leniency`) warnings go there instead, to be
    logged with the message's other secondary fields in one line.
    """

    __slots__ = ("left", "sink", "warned")

    def __init__(self, limit: int = MAX_TABS, *, sink: Callable[[str], None] | None = None) -> None:
        self.left = limit
        self.warned: set[str] = set()
        #: Where warnings go instead of the log (the message's :class:`~.lenient.Leniency`).
        self.sink = sink

    def take(self) -> bool:
        """Whether one more tab may be read."""
        if self.left > 0:
            self.left -= 1
            return True
        self.warn("limit", "tabs: more than %d in one message; the rest are skipped", MAX_TABS)
        return False

    def warn(self, kind: str, message: str, *args: object) -> None:
        """Log ``message`` unless a warning of ``kind`` was logged for this message."""
        if kind not in self.warned:
            self.warned.add(kind)
            if self.sink is not None:
                self.sink(message % args)
            else:  # a path may hold a key from the body: escaped, one line
                log.warning("%s", display(message % args))

    def read(self, parse: Callable[[str, str], _T], value: object, where: str) -> _T | None:
        """``parse(text, where)`` on a scalar, or ``None`` (warned once) when it does not fit."""
        text = _scalar(value)
        if text is None:
            if value is not None:
                self.left_empty(f"{where} is not a scalar")
            return None
        try:
            return parse(text, where)
        except ParseError as exc:
            self.left_empty(exc.reason)
            return None

    def text(self, value: object, where: str) -> str | None:
        """Stripped text, ``None`` when empty or unfit (see :meth:`read`)."""
        return self.read(clean_text, value, where)

    def left_empty(self, reason: str) -> None:
        """Say (once per message) that a tab field was left empty, and why."""
        self.warn("empty", "tabs: %s; left empty (later ones in this message not logged)", reason)


def _scalar(value: object) -> str | None:
    """A JSON scalar as text (numbers and booleans as JSON writes them); else ``None``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value if isinstance(value, str) else None


# JSON --------------------------------------------------------------------------------


def json_tabs(
    tabs: object, path: str, recipient_id: str | None, budget: TabBudget
) -> tuple[Tab, ...]:
    """Every tab of a recipient's ``tabs`` object, list by list (``<kind>Tabs`` keys)."""
    if not isinstance(tabs, dict):
        if tabs is not None:
            budget.warn("shape", "tabs: %s is not an object; skipped", path)
        return ()
    found: list[Tab] = []
    for key, items in tabs.items():
        if not key.endswith(_JSON_SUFFIX) or not isinstance(items, list):
            continue
        kind = key[: -len(_JSON_SUFFIX)].lower()
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            if not budget.take():
                return tuple(found)
            found.append(_json_tab(item, f"{path}.{key}[{index}]", kind, recipient_id, budget))
    return tuple(found)


def _json_tab(
    item: dict[str, Any], path: str, kind: str, recipient_id: str | None, budget: TabBudget
) -> Tab:
    def text(key: str) -> str | None:
        return budget.text(item.get(key), f"JSON: {path}.{key}")

    tab_type = (text("tabType") or kind).lower()
    value = text("value")
    selected = budget.read(boolean, item.get("selected"), f"JSON: {path}.selected")
    label = text("tabLabel")
    if tab_type == "list" and value is None:
        value = text("listSelectedValue")
    radios = item.get("radios")
    if isinstance(radios, list):
        label = label or text("groupName")
        chosen = _chosen_radio(radios, path, budget)
        value = chosen if chosen is not None else value
        selected = chosen is not None
    return Tab(
        tab_type=tab_type,
        label=label,
        value=value,
        document_id=budget.read(identifier, item.get("documentId"), f"JSON: {path}.documentId"),
        page=budget.read(count, item.get("pageNumber"), f"JSON: {path}.pageNumber"),
        name=text("name"),
        original_value=text("originalValue"),
        tab_id=budget.read(identifier, item.get("tabId"), f"JSON: {path}.tabId"),
        status=text("status"),
        selected=selected,
        recipient_id=recipient_id,
        raw=item,
    )


def _chosen_radio(radios: list[Any], path: str, budget: TabBudget) -> str | None:
    """The value of a radio group's selected radio (each radio counts against the budget)."""
    for index, radio in enumerate(radios):
        if not isinstance(radio, dict):
            continue
        if not budget.take():
            return None
        where = f"JSON: {path}.radios[{index}]"
        if budget.read(boolean, radio.get("selected"), f"{where}.selected"):
            return budget.text(radio.get("value"), f"{where}.value")
    return None


# XML ---------------------------------------------------------------------------------


def xml_tabs(
    recipient: XmlElement, path: str, recipient_id: str | None, budget: TabBudget
) -> tuple[Tab, ...]:
    """Every ``TabStatuses/TabStatus`` of a ``RecipientStatus``, in document order."""
    found: list[Tab] = []
    for container in children(recipient, "TabStatuses"):
        for index, element in enumerate(children(container, "TabStatus"), start=1):
            if not budget.take():
                return tuple(found)
            where = f"XML: {path}/TabStatuses/TabStatus[{index}]"
            found.append(_xml_tab(XmlView(element), where, recipient_id, budget))
    return tuple(found)


def _xml_tab(
    view: Mapping[str, Any], path: str, recipient_id: str | None, budget: TabBudget
) -> Tab:
    def text(name: str) -> str | None:
        return budget.text(view.get(name), f"{path}/{name}")

    value = text("TabValue")
    if value is None:
        value = text("ListSelectedValue")
    return Tab(
        tab_type=(text("TabType") or "unknown").lower(),
        label=text("TabLabel"),
        value=value,
        document_id=budget.read(identifier, view.get("DocumentID"), f"{path}/DocumentID"),
        page=budget.read(count, view.get("PageNumber"), f"{path}/PageNumber"),
        name=text("TabName"),
        original_value=text("OriginalValue"),
        tab_id=budget.read(identifier, view.get("TabId"), f"{path}/TabId"),
        status=text("Status"),
        recipient_id=recipient_id,
        raw=view,
    )
