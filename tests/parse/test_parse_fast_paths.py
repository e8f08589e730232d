"""The hot-path shortcuts of the parsers agree with the general checks they stand in for."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from connect_mw.errors import ParseError
from connect_mw.parse.values import clean_text, identifier, plain_identifier, plain_text

WHERE = "JSON: data.envelopeId"
_TEXT = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(max_codepoint=0x7F)),
    st.text(alphabet=" \t\r\n\x00\x1f\x7fab1-"),
    st.text(min_size=250, max_size=270, alphabet="ab "),
)


def _general(check: Callable[[str, str], object], value: str) -> object:
    try:
        return check(value, WHERE)
    except ParseError as error:
        return error


@given(_TEXT)
def test_plain_identifier_declines_or_agrees_with_identifier(value: str) -> None:
    quick = plain_identifier(value)
    if quick is not None:
        assert quick == _general(identifier, value)


@given(_TEXT)
def test_plain_text_is_text_clean_text_passes_unchanged(value: str) -> None:
    if plain_text(value):
        assert clean_text(value, WHERE) == (value.strip() or None)


def test_the_shortcuts_take_ordinary_values() -> None:
    assert plain_identifier(" 93be49ab-afa0-4adf-933c-f752070d71ec ") == (
        "93be49ab-afa0-4adf-933c-f752070d71ec"
    )
    assert plain_text("  Please sign: framework agreement ")
    assert plain_identifier("a\x01b") is None  # a control character: the full check decides
    assert not plain_text("caf\u00e9")  # non-ASCII: the full check decides
