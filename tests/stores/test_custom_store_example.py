"""The custom store of ``examples/custom_store.py`` passes the public contract suite."""

from __future__ import annotations

import sys
from pathlib import Path

from connect_mw.stores import Store
from connect_mw.testing import StoreContract
from support.stored_state import overwrite_json_file

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

from custom_store import JsonFileStore


class TestJsonFileStore(StoreContract):
    def make_store(self, tmp_path: Path) -> Store:
        return JsonFileStore(tmp_path / "connect.json")

    overwrite_state = staticmethod(overwrite_json_file)
