"""``display``: every invisible or direction-changing character shown as an escape."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connect_mw.display import display, display_optional, undisplay

GUID = "e8b18544-c605-4499-abcf-52209a7f4438"
# The characters issue 14 names: bidirectional controls, zero-width characters, the BOM.
BIDI = [chr(c) for c in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
CONTROLS = ["\x00", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("char", BIDI + ZERO_WIDTH + CONTROLS)
def test_each_named_character_is_escaped(char: str) -> None:
    shown = display(GUID[:8] + char + GUID[8:])
    assert char not in shown
    assert (
        shown
        == GUID[:8]
        + f"\\{'x' if ord(char) < 0x100 else 'u'}"
        + (f"{ord(char):02x}" if ord(char) < 0x100 else f"{ord(char):04x}")
        + GUID[8:]
    )


def test_examples() -> None:
    assert display(GUID) is GUID  # the common case is returned as is
    assert display("\u202e" + GUID) == "\\u202e" + GUID
    assert display("a\\u202eb") == "a\\\\u202eb"  # a typed escape is not a real one
    assert display("caf\u00e9 \u65e5\u672c") == "caf\u00e9 \u65e5\u672c"  # printable stays
    assert display("\U000e0001") == "\\U000e0001"  # a tag character, outside the BMP
    assert display_optional(None) == "-" and display_optional("") == "-"
    assert display_optional("\u200b") == "\\u200b"


@given(st.text())
def test_shown_text_is_one_line_of_visible_characters(text: str) -> None:
    shown = display(text)
    assert shown.isprintable()
    for char in BIDI + ZERO_WIDTH + CONTROLS:
        assert char not in shown


@given(st.text())
def test_undisplay_inverts_display(text: str) -> None:
    assert undisplay(display(text)) == text


@given(st.text(), st.text())
def test_different_texts_are_shown_differently(a: str, b: str) -> None:
    if a != b:
        assert display(a) != display(b)


@given(
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs")
        )
    )
)
def test_printable_text_without_backslash_is_unchanged(text: str) -> None:
    text = text.replace("\\", "")
    assert display(text) == text


@pytest.mark.parametrize("escape", ["\\U00110000", "\\Uffffffff", "\\U7fffffff"])
def test_an_escape_beyond_unicode_is_kept_literally(escape: str) -> None:
    """No text displays as these (display never writes them); undisplay keeps them as typed."""
    assert undisplay(escape) == escape
    assert undisplay(f"id-{escape}-\\x41") == f"id-{escape}-A"
    assert undisplay("\\U0010ffff") == "\U0010ffff"  # the last code point still decodes


@given(st.text(alphabet="\\Uux0123456789abcdef-", max_size=40))
def test_undisplay_never_raises(shown: str) -> None:
    assert isinstance(undisplay(shown), str)
