"""Recipients' tabs (form data) from JSON SIM and XML, and reading a field's value."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connect_mw.model import Tab
from connect_mw.parse import parse
from connect_mw.parse.tabs import MAX_TABS
from support.deliveries import sim_body
from support.payloads import fixture_bytes

ENVELOPE = "e8b18544-c605-4499-abcf-52209a7f4438"


def summary(*signers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "status": "completed",
        "envelopeId": ENVELOPE,
        "recipients": {"signers": list(signers)},
        **extra,
    }


def signer(recipient_id: str, tabs: Any) -> dict[str, Any]:
    return {"recipientId": recipient_id, "email": f"s{recipient_id}@example.com", "tabs": tabs}


def parse_summary(value: dict[str, Any]) -> Any:
    return parse(sim_body(summary=value))


def test_the_full_fixture_carries_each_signers_tabs() -> None:
    n = parse(fixture_bytes("sim_envelope_completed_full.json"))
    first = n.recipients[0]
    assert [(t.tab_type, t.label, t.value, t.document_id, t.page) for t in first.tabs] == [
        ("signhere", "Signature 1", None, "1", 2),
        ("text", "City", "Berlin", "1", 1),
    ]
    assert first.tabs[0].name == "SignHere" and first.tabs[0].status == "signed"
    assert first.tab("City") is first.tabs[1] and first.tab("nope") is None
    assert n.form_value("City") == "Berlin"
    assert n.form_data == {"City": "Berlin"}
    assert first.tabs[1].raw["maxLength"] == "4000"  # the rest of the tab, as sent


def test_kinds_checkbox_list_radio_group_and_payment() -> None:
    tabs = {
        "checkboxTabs": [{"tabLabel": "Agree", "selected": "true", "documentId": "1"}],
        "listTabs": [{"tabLabel": "Plan", "listSelectedValue": "Gold", "pageNumber": 3}],
        "radioGroupTabs": [
            {
                "groupName": "Size",
                "documentId": "1",
                "radios": [{"value": "S", "selected": "false"}, {"value": "L", "selected": "true"}],
            }
        ],
        "paymentTabs": [{"tabLabel": "Pay", "value": "12.50", "paymentDetails": {"total": 1}}],
        "numberTabs": [{"tabLabel": "Seats", "value": 4, "originalValue": "2"}],
        "tabGroups": [{"groupLabel": "ignored: not a tab list"}],
    }
    n = parse_summary(summary(signer("1", tabs)))
    by_label = {tab.label: tab for tab in n.tabs}
    assert set(by_label) == {"Agree", "Plan", "Size", "Pay", "Seats"}
    assert by_label["Agree"].tab_type == "checkbox" and by_label["Agree"].selected is True
    assert n.form_value("Plan") == "Gold" and by_label["Plan"].page == 3
    assert by_label["Size"].tab_type == "radiogroup" and n.form_value("Size") == "L"
    assert by_label["Pay"].tab_type == "payment"
    assert by_label["Pay"].raw["paymentDetails"] == {"total": 1}
    assert n.form_value("Seats") == "4" and by_label["Seats"].original_value == "2"
    assert all(tab.recipient_id == "1" for tab in n.tabs)


def test_a_shared_field_answers_with_the_recipient_who_filled_it() -> None:
    first = signer("1", {"textTabs": [{"tabLabel": "Company"}]})
    second = signer("2", {"textTabs": [{"tabLabel": "Company", "value": "ACME GmbH"}]})
    n = parse_summary(summary(first, second))
    assert n.form_value("Company") == "ACME GmbH"
    own = n.recipients[0].tab("Company")
    assert own is not None and own.value is None
    assert n.form_value("Missing", "-") == "-"


def test_a_tab_is_found_by_name_when_no_label_matches() -> None:
    n = parse_summary(summary(signer("1", {"textTabs": [{"name": "Notes", "value": "hi"}]})))
    assert n.tab("Notes") is not None and n.form_value("Notes") == "hi"


def test_envelope_sections_the_model_does_not_type_are_kept_raw() -> None:
    extra = {
        "powerForm": {"powerFormId": "pf-1"},
        "folders": [{"folderId": "f-1"}],
        "envelopeAttachments": [{"attachmentId": "a-1"}],
    }
    n = parse_summary(summary(signer("1", None), **extra))
    assert n.extras["powerForm"] == {"powerFormId": "pf-1"}
    assert n.extras["folders"] == [{"folderId": "f-1"}]
    assert n.extras["envelopeAttachments"] == [{"attachmentId": "a-1"}]
    assert "attachments" not in n.extras
    assert parse(sim_body()).extras == {}


@pytest.mark.parametrize(
    "tabs",
    [
        "not an object",
        ["a list"],
        {"textTabs": "not a list"},
        {"textTabs": ["not an object", 3, None]},
        {"textTabs": [{"tabLabel": {"nested": 1}, "value": ["x"], "pageNumber": "abc"}]},
        {"textTabs": [{"tabLabel": "L", "value": "nul \x00", "documentId": "x" * 300}]},
        {"radioGroupTabs": [{"groupName": "G", "radios": ["x", {"selected": "maybe"}]}]},
    ],
)
def test_tabs_of_an_unexpected_shape_never_refuse_the_message(
    tabs: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="connect_mw"):
        n = parse_summary(summary(signer("1", tabs)))
    assert n.recipients[0].recipient_id == "1"
    for tab in n.tabs:
        assert tab.value is None and tab.page is None and tab.document_id is None


def test_tabs_beyond_the_bound_are_skipped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    many = [{"tabLabel": f"t{i}", "value": "v"} for i in range(MAX_TABS // 2 + 10)]
    recipients = [signer("1", {"textTabs": many}), signer("2", {"textTabs": many})]
    with caplog.at_level(logging.WARNING, logger="connect_mw"):
        n = parse_summary(summary(*recipients))
    assert len(n.tabs) == MAX_TABS
    assert caplog.text.count("are skipped") == 1


def test_a_thousand_malformed_tabs_log_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    bad = [{"tabLabel": "L", "pageNumber": "x", "value": {"o": 1}} for _ in range(1000)]
    with caplog.at_level(logging.WARNING, logger="connect_mw"):
        n = parse_summary(summary(signer("1", {"textTabs": bad})))
    assert len(n.tabs) == 1000 and n.form_data == {}
    assert len(caplog.records) == 1 and "later ones in this message not logged" in caplog.text


XML_TABS = """<?xml version="1.0" encoding="utf-8"?>
<DocuSignEnvelopeInformation xmlns="http://www.docusign.net/API/3.0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <EnvelopeStatus>
    <RecipientStatuses>
      <RecipientStatus>
        <Type>Signer</Type><Email>a@example.com</Email><UserName>A</UserName>
        <RoutingOrder>1</RoutingOrder><Status>Completed</Status>
        <TabStatuses>
          <TabStatus>
            <TabType>Custom</TabType><Status>Signed</Status><TabLabel>Company</TabLabel>
            <TabName>Text</TabName><TabValue>ACME &amp; Co</TabValue>
            <DocumentID>1</DocumentID><PageNumber>2</PageNumber>
            <OriginalValue>ACME</OriginalValue><CustomTabType>Text</CustomTabType>
          </TabStatus>
          <TabStatus>
            <TabType>List</TabType><TabLabel>Plan</TabLabel><TabValue />
            <ListSelectedValue>Gold</ListSelectedValue><PageNumber>x</PageNumber>
          </TabStatus>
          <TabStatus><TabType>SignHere</TabType><TabValue xsi:nil="true" /></TabStatus>
        </TabStatuses>
        <RecipientId>994d45c0-3d06-4174-9d53-70d15683c0e2</RecipientId>
      </RecipientStatus>
    </RecipientStatuses>
    <EnvelopeID>08740f95-2187-4b01-9a69-452ae3140752</EnvelopeID>
    <Status>Completed</Status>
    <TimeGenerated>2020-03-28T23:57:15.1085476</TimeGenerated>
  </EnvelopeStatus>
</DocuSignEnvelopeInformation>
"""


def test_xml_tab_statuses() -> None:
    n = parse(XML_TABS.encode())
    company, plan, sign = n.tabs
    assert company == Tab(
        tab_type="custom",
        label="Company",
        value="ACME & Co",
        document_id="1",
        page=2,
        name="Text",
        original_value="ACME",
        status="Signed",
        recipient_id="994d45c0-3d06-4174-9d53-70d15683c0e2",
    )
    assert company.raw["CustomTabType"] == "Text"
    assert plan.value == "Gold" and plan.page is None  # a bad page number is left empty
    assert sign.tab_type == "signhere" and sign.value is None
    assert n.form_data == {"Company": "ACME & Co", "Plan": "Gold"}


def test_the_xml_sample_sign_here_tab() -> None:
    sample = "docusign__connect-node-listener-aws__webhook_eg_msg_completed.xml"
    with open(f"/work/shared/connect-samples/{sample}", "rb") as body:
        n = parse(body.read())
    tab = n.recipients[0].tab("Sign Here")
    assert tab is not None and (tab.tab_type, tab.document_id, tab.page) == ("signhere", "3", 1)


# Properties ------------------------------------------------------------------------

LABELS = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    LABELS,
    st.lists(st.integers(0, 9), max_size=2),
)
KINDS = st.sampled_from(["text", "number", "date", "email", "formula", "company", "note"])
TAB = st.fixed_dictionaries(
    {"tabLabel": st.one_of(st.none(), LABELS, SCALARS)},
    optional={"value": SCALARS, "pageNumber": SCALARS, "documentId": SCALARS, "tabId": SCALARS},
)
TABS = st.dictionaries(KINDS.map(lambda k: f"{k}Tabs"), st.lists(TAB, max_size=6), max_size=4)


@settings(max_examples=150, deadline=None)
@given(st.lists(TABS, min_size=1, max_size=3))
def test_any_tab_shapes_parse_and_form_value_matches_the_tabs(tab_sets: list[Any]) -> None:
    signers = [signer(str(i + 1), tabs) for i, tabs in enumerate(tab_sets)]
    body = sim_body(summary=summary(*signers))
    n = parse(body)
    expected = sum(len(items) for tabs in tab_sets for items in tabs.values())
    assert len(n.tabs) == expected
    for tab in n.tabs:
        assert tab.tab_type in {"text", "number", "date", "email", "formula", "company", "note"}
        assert tab.page is None or tab.page >= 0
    for label, value in n.form_data.items():
        assert n.form_value(label) == value
        first = next(t for t in n.tabs if t.label == label and t.value is not None)
        assert first.value == value
    assert json.loads(body)  # the body itself is untouched JSON


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(LABELS, LABELS), min_size=1, max_size=8))
def test_string_labels_and_values_come_back_stripped(pairs: list[tuple[str, str]]) -> None:
    tabs = {"textTabs": [{"tabLabel": label, "value": value} for label, value in pairs]}
    n = parse_summary(summary(signer("1", tabs)))
    assert [(t.label, t.value) for t in n.tabs] == [
        (label.strip() or None, value.strip() or None) for label, value in pairs
    ]
