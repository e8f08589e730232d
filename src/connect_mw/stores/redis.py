"""``RedisStore``: Redis through redis-py; every write is one Lua script, hence atomic.

Needs the ``redis`` extra. ``record`` is optimistic: read the envelope's state and version,
fold in Python, then a script inserts the event only if its key is absent *and* the version
is unchanged, writing event, indexes and state together; else the fold is redone. ``claim``
is one script over ``due``, which scores each envelope by when its first unfinished event
becomes claimable. Final events expire ``retention`` after receipt. Key layout, durability
and limits (no Redis Cluster): ``docs/stores-redis.md``.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..model import EnvelopeState, EnvelopeStatus, Notification, PayloadFormat
from ..state import fold
from .base import (
    DEFAULT_RETENTION,
    Lease,
    ProcessingState,
    RecordOutcome,
    Store,
    StoredEvent,
    utcnow,
)
from .codec import dump_state, dump_transitions, load_state, load_transitions
from .group_commit import GroupCommit, Pending

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICRO = timedelta(microseconds=1)
_ORDER_OFFSET = -((datetime.min.replace(tzinfo=timezone.utc) - _EPOCH) // _MICRO)
_FIELDS = "key env acct event status fmt occ recv size trans proc err att next lw lu m".split()  # noqa: SIM905
_LUA_COMMON = """
local P = ARGV[1]
local UNFINISHED = {pending = true, failed = true}
local function ek(key) return P .. 'ev:' .. key end
local function key_of(member) return string.sub(member, 35) end
local function num(v) if v and v ~= '' then return tonumber(v) end return nil end
local function int(v) return string.format('%.0f', v) end
-- Score the envelope in `due` by when its first unfinished event becomes claimable:
-- its own due time, and no live lease (lease_until < now) on any unfinished event.
local function refresh(env)
  local members = redis.call('ZRANGE', P .. 'u:' .. env, 0, -1)
  local at = members[1] and num(redis.call('HGET', ek(key_of(members[1])), 'next'))
  if not at then redis.call('ZREM', P .. 'due', env) return end
  for _, m in ipairs(members) do
    local lease = num(redis.call('HGET', ek(key_of(m)), 'lu'))
    if lease and lease + 1 > at then at = lease + 1 end
  end
  redis.call('ZADD', P .. 'due', int(at), env)
end
"""
_SCRIPTS = {
    # ARGV: P key env expected_version state status updated_score order_prefix fields…
    "record": """
local key, env = ARGV[2], ARGV[3]
if redis.call('EXISTS', ek(key)) == 1 then return 'dup' end
local envk = P .. 'env:' .. env
local version = redis.call('HGET', envk, 'ver') or '0'
if version ~= ARGV[4] then return 'retry' end
local m = ARGV[8] .. string.format('%016d', redis.call('INCR', P .. 'seq')) .. key
redis.call('HSET', ek(key), 'm', m, unpack(ARGV, 9))
for _, index in ipairs({'e:' .. env, 'all', 'p:pending', 'u:' .. env}) do
  redis.call('ZADD', P .. index, 0, m)
end
local old = redis.call('HGET', envk, 'status')
if old and old ~= '' then redis.call('ZREM', P .. 's:' .. old, env) end
redis.call('HSET', envk, 'ver', tostring(tonumber(version) + 1), 'state', ARGV[5],
  'status', ARGV[6])
redis.call('ZADD', P .. 'upd', ARGV[7], env)
if ARGV[6] ~= '' then redis.call('ZADD', P .. 's:' .. ARGV[6], ARGV[7], env) end
refresh(env)
return 'ok'
""",
    # ARGV: P worker now lease_until limit
    "claim": """
local out = {}
for _, env in ipairs(redis.call('ZRANGEBYSCORE', P .. 'due', '-inf', ARGV[3],
                                'LIMIT', 0, ARGV[5])) do
  local head = redis.call('ZRANGE', P .. 'u:' .. env, 0, 0)[1]
  if head then
    local k = ek(key_of(head))
    redis.call('HSET', k, 'lw', ARGV[2], 'lu', ARGV[4])
    redis.call('HINCRBY', k, 'att', 1)
    out[#out + 1] = redis.call('HGETALL', k)
  end
  refresh(env)
end
return out
""",
    # ARGV: P key worker state error next release retention
    "finish": """
local k = ek(ARGV[2])
local f = redis.call('HMGET', k, 'lw', 'proc', 'm', 'env', 'recv')
if f[1] ~= ARGV[3] then return 0 end
redis.call('HSET', k, 'proc', ARGV[4], 'err', ARGV[5], 'next', ARGV[6], 'lw', '', 'lu', '')
if ARGV[7] == '1' then redis.call('HINCRBY', k, 'att', -1) end
redis.call('ZREM', P .. 'p:' .. f[2], f[3])
redis.call('ZADD', P .. 'p:' .. ARGV[4], 0, f[3])
if not UNFINISHED[ARGV[4]] then
  redis.call('ZREM', P .. 'u:' .. f[4], f[3])
  redis.call('ZADD', P .. 'fin', f[5], cjson.encode({f[3], f[4]}))
  redis.call('PEXPIREAT', k, int(math.floor((tonumber(f[5]) + tonumber(ARGV[8])) / 1000)))
end
refresh(f[4])
return 1
""",
    # ARGV: P key now
    "requeue": """
local k = ek(ARGV[2])
local f = redis.call('HMGET', k, 'lu', 'proc', 'm', 'env')
if not f[3] then return 0 end
local lease = num(f[1])
if lease and lease >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', k, 'proc', 'pending', 'att', '0', 'next', ARGV[3], 'lw', '', 'lu', '')
redis.call('PERSIST', k)
redis.call('ZREM', P .. 'p:' .. f[2], f[3])
redis.call('ZADD', P .. 'p:pending', 0, f[3])
redis.call('ZADD', P .. 'u:' .. f[4], 0, f[3])
redis.call('ZREM', P .. 'fin', cjson.encode({f[3], f[4]}))
refresh(f[4])
return 1
""",
    # ARGV: P before batch
    "purge": """
local items = redis.call('ZRANGEBYSCORE', P .. 'fin', '-inf', '(' .. ARGV[2],
                         'LIMIT', 0, ARGV[3])
local deleted = 0
for _, item in ipairs(items) do
  local m, env = unpack(cjson.decode(item))
  local k = ek(key_of(m))
  if redis.call('HGET', k, 'm') == m then deleted = deleted + redis.call('DEL', k) end
  for _, index in ipairs({'e:' .. env, 'all', 'p:processed', 'p:dead'}) do
    redis.call('ZREM', P .. index, m)
  end
  redis.call('ZREM', P .. 'fin', item)
end
return {deleted, #items}
""",
}


class RecordContention(RuntimeError):
    """``record`` lost the optimistic race for one envelope too many times in a row."""


class RedisStore(Store):
    """A store in Redis; safe to share between threads and between processes.

    ``socket_timeout`` and ``socket_connect_timeout`` (seconds) bound every command, and
    commands are never retried automatically, so a hung or absent Redis raises promptly
    (the receiver answers 503). Durability is Redis's: see ``docs/stores-redis.md``.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "connect-mw:",
        socket_timeout: float = 2.0,
        socket_connect_timeout: float = 2.0,
        retention: timedelta = DEFAULT_RETENTION,
        max_record_attempts: int = 100,
    ) -> None:
        self.prefix = prefix
        self.retention = retention
        self.max_record_attempts = max_record_attempts
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_connect_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._scripts = {
            name: self._client.register_script(_LUA_COMMON + body)
            for name, body in _SCRIPTS.items()
        }
        self._writer = GroupCommit(self._write_each, name="connect-mw-redis-writer")

    @classmethod
    def from_uri(cls, uri: str) -> RedisStore:
        """A store for a ``redis://`` or ``rediss://`` URI.

        A ``prefix`` query parameter is the store's, every other one goes to redis-py.
        """
        parts = urlsplit(uri)
        query = parse_qsl(parts.query, keep_blank_values=True)
        prefix = [v for k, v in query if k == "prefix"]
        rest = urlencode([(k, v) for k, v in query if k != "prefix"])
        url = urlunsplit(parts._replace(query=rest))
        return cls(url, prefix=prefix[-1]) if prefix else cls(url)

    def _run(self, script: str, *args: str | bytes | int) -> Any:
        return self._scripts[script](args=[self.prefix, *args])

    # Writes ----------------------------------------------------------------------------

    def record(
        self, notification: Notification, raw: bytes, key: str, *, lease: Lease | None = None
    ) -> RecordOutcome:
        """Read state and version, fold, then insert-if-absent-and-unchanged; retry on a race."""
        n = notification
        fields = _event_fields(n, raw, key, lease, utcnow())
        for attempt in range(self.max_record_attempts):
            version, current, exists = self._read_envelope(n.envelope_id, key)
            if exists:
                return RecordOutcome(key, False, current or fold(None, n).state)
            result = fold(current, n)
            state = result.state
            verdict = self._run(
                "record",
                key,
                n.envelope_id,
                version,
                dump_state(state),
                "" if state.status is None else state.status.value,
                "-inf" if state.updated_at is None else _us(state.updated_at),
                f"{_micros(n.occurred_at or fields['recv']) + _ORDER_OFFSET:018d}",
                *_flat(fields, trans=dump_transitions(result.transitions)),
            )
            if verdict == b"ok":
                return RecordOutcome(key, True, state, result.transitions, result.stale)
            if verdict == b"retry":
                time.sleep(random.uniform(0, 0.0005 * min(attempt + 1, 20)))
        raise RecordContention(
            f"record {key!r}: envelope {n.envelope_id!r} changed under "
            f"{self.max_record_attempts} attempts in a row"
        )

    async def arecord(
        self, notification: Notification, raw: bytes, key: str, *, lease: Lease | None = None
    ) -> RecordOutcome:
        """Async :meth:`record`: on asyncio, queued for one writer thread instead of one each."""
        return await self._writer.arecord(Pending(notification, raw, key, lease))

    def _write_each(self, batch: list[Pending]) -> None:
        """Record each queued call in turn (each record is atomic on its own).

        Once Redis is unreachable or times out, the rest of the batch fails with that error
        without trying, so an outage costs one timeout per batch, not one per record.
        """
        lost: Exception | None = None
        for item in batch:
            if lost is not None:
                item.error = lost
                continue
            try:
                item.outcome = self.record(item.notification, item.raw, item.key, lease=item.lease)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                item.error = lost = exc
            except Exception as exc:
                item.error = exc

    def _read_envelope(self, envelope_id: str, key: str) -> tuple[str, EnvelopeState | None, bool]:
        pipe = self._client.pipeline(transaction=True)
        pipe.hmget(self.prefix + "env:" + envelope_id, ["ver", "state"])
        pipe.exists(self.prefix + "ev:" + key)
        (version, state), exists = pipe.execute()
        current = None if state is None else load_state(state.decode())
        return ("0" if version is None else version.decode()), current, bool(exists)

    def claim(
        self, worker: str, *, lease_for: timedelta, limit: int = 1, now: datetime | None = None
    ) -> list[StoredEvent]:
        """See :meth:`Store.claim`: one script leases the first event of due envelopes."""
        if limit < 1:
            return []
        moment = now or utcnow()
        rows = self._run("claim", _opt(worker), _us(moment), _us(moment + lease_for), limit)
        return [_event(dict(zip(row[::2], row[1::2], strict=True)), raw=True) for row in rows]

    def finish(
        self,
        key: str,
        worker: str,
        state: ProcessingState,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """See :meth:`Store.finish`. Final events expire ``retention`` after receipt."""
        release = state is ProcessingState.PENDING
        due = retry_at if retry_at is not None and not release else utcnow()
        error = error and _diagnostic(error)
        args = (_opt(worker), state.value, _opt(error), _us(due), "01"[release])
        return bool(self._run("finish", key, *args, self.retention // _MICRO))

    def requeue(self, key: str, *, now: datetime | None = None) -> bool:
        """See :meth:`Store.requeue`; the event no longer expires."""
        return bool(self._run("requeue", key, _us(now or utcnow())))

    def purge(self, before: datetime) -> int:
        """See :meth:`Store.purge`; expired events' index entries go too (uncounted)."""
        deleted = 0
        while True:
            count, seen = self._run("purge", _us(before), 500)
            deleted += int(count)
            if int(seen) < 500:
                return deleted

    # Queries ---------------------------------------------------------------------------

    def get_envelope(self, envelope_id: str) -> EnvelopeState | None:
        """See :meth:`Store.get_envelope`."""
        state = self._client.hget(self.prefix + "env:" + envelope_id, "state")
        return None if state is None else load_state(_str(state))

    def list_envelopes(self, *, status: str | None = None, limit: int = 100) -> list[EnvelopeState]:
        """See :meth:`Store.list_envelopes`."""
        if limit < 1:
            return []
        index = self.prefix + ("upd" if status is None else "s:" + status)
        ids = cast(list[bytes], self._client.zrevrange(index, 0, limit - 1))
        pipe = self._client.pipeline(transaction=False)
        for envelope_id in ids:
            pipe.hget(self.prefix.encode() + b"env:" + envelope_id, "state")
        return [load_state(state.decode()) for state in pipe.execute() if state is not None]

    def events(
        self,
        envelope_id: str | None = None,
        *,
        processing: ProcessingState | None = None,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        """See :meth:`Store.events`; skips index entries of expired events."""
        index = "all" if processing is None else f"p:{processing.value}"
        wanted = None
        if envelope_id is not None:
            index, wanted = f"e:{envelope_id}", processing
        found: list[StoredEvent] = []
        start, step = 0, 200 if limit is None else max(limit, 1)
        while limit is None or len(found) < limit:
            members = cast(
                list[bytes], self._client.zrange(self.prefix + index, start, start + step - 1)
            )
            if not members:
                break
            start += step
            pipe = self._client.pipeline(transaction=False)
            for member in members:
                pipe.hmget(self.prefix.encode() + b"ev:" + member[34:], _FIELDS)
            for member, values in zip(members, pipe.execute(), strict=True):
                row = dict(zip(_FIELDS, values, strict=True))
                if row["m"] == member and wanted in (None, ProcessingState(_str(row["proc"]))):
                    found.append(_event(row))
        return found[:limit]

    def get_event(self, key: str) -> StoredEvent | None:
        """See :meth:`Store.get_event`."""
        row = self._client.hgetall(self.prefix + "ev:" + key)
        return _event(row, raw=True) if row else None

    def close(self) -> None:
        """Let the writer thread finish what is queued, then close the connection pool."""
        self._writer.close(5.0)
        self._client.close()


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // _MICRO


def _us(value: datetime | None) -> str:
    """Microseconds since the epoch as text; ``""`` for ``None``."""
    return "" if value is None else str(_micros(value))


def _time(value: Any) -> datetime | None:
    return _EPOCH + int(value) * _MICRO if value else None


def _opt(value: str | None) -> str:
    """An optional text field: ``""`` for ``None``, else the text behind ``=``."""
    return "" if value is None else "=" + value


def _unopt(value: Any) -> str | None:
    return _str(value)[1:] if value else None


def _str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _diagnostic(error: str) -> str:
    """An error message made storable: lone surrogates escaped, never refused."""
    return error.encode("utf-8", "backslashreplace").decode("utf-8")


def _event_fields(
    n: Notification, raw: bytes, key: str, lease: Lease | None, received: datetime
) -> dict[str, Any]:
    return {
        "key": key,
        "env": n.envelope_id,
        "acct": _opt(n.account_id),
        "event": n.event,
        "status": _opt(None if n.status is None else n.status.value),
        "fmt": n.format.value,
        "occ": _us(n.occurred_at),
        "recv": received,
        "size": len(raw),
        "proc": ProcessingState.PENDING.value,
        "err": "",
        "att": 1 if lease else 0,
        "next": _us(received),
        "lw": _opt(None if lease is None else lease.worker),
        "lu": _us(None if lease is None else lease.until),
        "raw": bytes(raw),
    }


def _flat(fields: dict[str, Any], **more: Any) -> list[str | bytes | int]:
    pairs = {**fields, **more, "recv": _us(fields["recv"])}
    return [item for pair in pairs.items() for item in pair]


def _event(row: dict[Any, Any], raw: bool = False) -> StoredEvent:
    f = {_str(name): value for name, value in row.items()}
    lease_until = _time(f["lu"])
    received = _time(f["recv"])
    assert received is not None
    return StoredEvent(
        key=_str(f["key"]),
        envelope_id=_str(f["env"]),
        account_id=_unopt(f["acct"]),
        event=_str(f["event"]),
        status=None if not f["status"] else EnvelopeStatus(_unopt(f["status"])),
        format=PayloadFormat(_str(f["fmt"])),
        occurred_at=_time(f["occ"]),
        received_at=received,
        raw_size=int(f["size"]),
        transitions=load_transitions(_str(f["trans"])),
        processing=ProcessingState(_str(f["proc"])),
        error=_unopt(f["err"]),
        attempts=int(f["att"]),
        next_attempt_at=_time(f["next"]),
        lease=None if lease_until is None else Lease(_str(_unopt(f["lw"])), lease_until),
        raw=bytes(f["raw"]) if raw else None,
    )
