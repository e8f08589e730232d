"""Test helpers: the payload fixtures under ``tests/fixtures``."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture_path(name: str) -> Path:
    """The path of the fixture file ``name``."""
    return FIXTURES / name


def fixture_bytes(name: str) -> bytes:
    """The exact bytes of the fixture file ``name``."""
    return fixture_path(name).read_bytes()


def fixture_names(suffix: str = "") -> list[str]:
    """The names of every payload fixture (``.xml`` and ``.json``) ending with ``suffix``."""
    return sorted(
        path.name
        for path in FIXTURES.iterdir()
        if path.suffix in (".xml", ".json") and path.name.endswith(suffix)
    )
