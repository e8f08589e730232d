"""Typed-model libraries side by side: why the model is made of msgspec Structs.

    .venv/bin/python bench/model_types.py [--repeats 7] [--calls 20000]

Three columns, µs per call, best of ``--repeats`` passes (process CPU time, so that other load
on a shared machine counts less):

1. building a 10-field frozen model by keyword: a frozen slotted dataclass (the model
   before), a frozen ``msgspec.Struct`` (the model now), a frozen pydantic ``BaseModel``
   (validated; and ``model_construct``, which skips validation);
2. a copy with one field changed: ``dataclasses.replace``, ``msgspec.structs.replace``,
   pydantic's ``model_copy(update=...)``;
3. the benchmark's 2.2 KB JSON SIM body (``bodies.py``) decoded into a typed schema of it
   (7 fractional digits in ``generatedDateTime`` included): ``msgspec.json.Decoder`` into
   Structs, pydantic's ``model_validate_json`` into models of the same shape; ``json.loads``
   and ``orjson.loads`` to dicts beside them (no types: a lower bound, the model would still
   be built from the dicts in Python).

pydantic and orjson are not dependencies: their columns appear when they are installed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bodies

FIELDS = {f"f{i}": (f"value {i}" if i % 2 else None) for i in range(10)}


@dataclasses.dataclass(frozen=True, slots=True)
class TenDataclass:
    """Ten optional fields, as the model's types were."""

    f0: str | None = None
    f1: str | None = None
    f2: str | None = None
    f3: str | None = None
    f4: str | None = None
    f5: str | None = None
    f6: str | None = None
    f7: str | None = None
    f8: str | None = None
    f9: str | None = None


class TenStruct(msgspec.Struct, frozen=True):
    """Ten optional fields, as the model's types are."""

    f0: str | None = None
    f1: str | None = None
    f2: str | None = None
    f3: str | None = None
    f4: str | None = None
    f5: str | None = None
    f6: str | None = None
    f7: str | None = None
    f8: str | None = None
    f9: str | None = None


class Signer(msgspec.Struct, rename="camel"):
    """A signer of the SIM body."""

    recipient_id: str
    name: str | None = None
    email: str | None = None
    recipient_id_guid: str | None = None
    routing_order: str | None = None
    status: str | None = None
    sent_date_time: datetime | None = None
    delivered_date_time: datetime | None = None
    recipient_type: str | None = None


class Recipients(msgspec.Struct):
    """``recipients``."""

    signers: list[Signer] = []


class Sender(msgspec.Struct, rename="camel"):
    """``sender``."""

    user_name: str | None = None
    email: str | None = None


class Summary(msgspec.Struct, rename="camel"):
    """``envelopeSummary``."""

    status: str
    envelope_id: str
    email_subject: str | None = None
    created_date_time: datetime | None = None
    sent_date_time: datetime | None = None
    status_changed_date_time: datetime | None = None
    sender: Sender | None = None
    recipients: Recipients | None = None


class Data(msgspec.Struct, rename="camel"):
    """``data``."""

    account_id: str
    envelope_id: str
    user_id: str | None = None
    envelope_summary: Summary | None = None


class Body(msgspec.Struct, rename="camel"):
    """A JSON SIM body."""

    event: str
    data: Data
    generated_date_time: datetime
    api_version: str | None = None
    uri: str | None = None
    retry_count: int | None = None
    configuration_id: int | None = None


def per_call(step: Callable[[], object], repeats: int, calls: int) -> float:
    """Best of ``repeats`` passes of ``calls`` calls of ``step``, µs (process CPU) per call."""
    times = []
    for _ in range(repeats):
        started = time.process_time()
        for _ in range(calls):
            step()
        times.append((time.process_time() - started) / calls * 1e6)
    return min(times)


def pydantic_rows(body: bytes) -> dict[str, dict[str, Callable[[], object]]]:
    """pydantic's steps, when it is installed (the same shapes, camelCase aliases)."""
    try:
        import pydantic  # noqa: PLC0415 (optional: measured only when installed)
        from pydantic.alias_generators import to_camel  # noqa: PLC0415
    except ImportError:
        return {}
    frozen = pydantic.ConfigDict(frozen=True)
    ten = pydantic.create_model(  # type: ignore[call-overload]
        "TenModel", __config__=frozen, **{name: (str | None, None) for name in FIELDS}
    )
    camel = pydantic.ConfigDict(alias_generator=to_camel, populate_by_name=True)

    def model(cls: type[msgspec.Struct]) -> Any:
        fields = {
            f.name: (_pydantic_type(f.type, models), ... if f.required else f.default)
            for f in msgspec.structs.fields(cls)
        }
        return pydantic.create_model(cls.__name__, __config__=camel, **fields)  # type: ignore[call-overload]

    models: dict[type, Any] = {}
    for cls in (Signer, Recipients, Sender, Summary, Data, Body):
        models[cls] = model(cls)
    built = ten(**FIELDS)
    return {
        "pydantic BaseModel (frozen; validated)": {
            "build": lambda: ten(**FIELDS),
            "replace": lambda: built.model_copy(update={"f3": "changed"}),
            "decode": lambda: models[Body].model_validate_json(body),
        },
        "pydantic model_construct (not validated)": {
            "build": lambda: ten.model_construct(**FIELDS)
        },
    }


def _pydantic_type(annotation: Any, models: dict[type, Any]) -> Any:
    """``annotation`` with this module's Structs swapped for their pydantic twins."""
    if isinstance(annotation, type) and annotation in models:
        return models[annotation]
    args = getattr(annotation, "__args__", None)
    if not args:
        return annotation
    swapped = tuple(_pydantic_type(arg, models) for arg in args)
    if getattr(annotation, "__origin__", None) is list:
        return list[swapped[0]]  # type: ignore[valid-type]
    result = swapped[0]
    for arg in swapped[1:]:
        result = result | arg
    return result


def rows(body: bytes) -> dict[str, dict[str, Callable[[], object]]]:
    """Each library's steps: ``build``, ``replace``, ``decode`` (those it has)."""
    dc = TenDataclass(**FIELDS)
    st = TenStruct(**FIELDS)
    decoder = msgspec.json.Decoder(Body)
    found: dict[str, dict[str, Callable[[], object]]] = {
        "frozen slotted dataclass": {
            "build": lambda: TenDataclass(**FIELDS),
            "replace": lambda: dataclasses.replace(dc, f3="changed"),
        },
        "msgspec Struct (frozen)": {
            "build": lambda: TenStruct(**FIELDS),
            "replace": lambda: msgspec.structs.replace(st, f3="changed"),
            "decode": lambda: decoder.decode(body),
        },
        "json.loads (dicts)": {"decode": lambda: json.loads(body)},
    }
    found.update(pydantic_rows(body))
    try:
        import orjson  # noqa: PLC0415 (optional: measured only when installed)
    except ImportError:
        pass
    else:
        found["orjson.loads (dicts)"] = {"decode": lambda: orjson.loads(body)}
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    body = bodies.body("json", 1, salt=7)
    steps = ("build", "replace", "decode")
    print(f"| library | build 10 fields µs | replace one µs | decode {len(body)} B body µs |")
    print("|---|---:|---:|---:|")
    for name, calls in rows(body).items():
        cells = [
            f"{per_call(calls[step], args.repeats, args.calls):.2f}" if step in calls else "—"
            for step in steps
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
