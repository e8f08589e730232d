"""``RedisStore``: Redis through redis-py; every write is one Lua script, hence atomic.

Needs the ``redis`` extra. ``commit`` is one script: it refuses a stored key (duplicate) or
a changed envelope version (conflict), else writes the event hash, its indexes and the new
state together. ``update_event`` is a compare-and-set script on the event's ``rev`` field.
The work queue (:class:`~connect_mw.queues.redis.RedisQueue`) claims with one script over
``due``, which scores each envelope by when its first unfinished event becomes claimable.
Final events expire ``retention`` after receipt; the ``keys`` set keeps every key ever
committed (the tombstones that keep a re-posted old message a duplicate). Key layout,
durability, upgrades and limits (no Redis Cluster): ``docs/stores-redis.md``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import anyio.to_thread
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ..model import EnvelopeStatus, PayloadFormat
from .api import (
    DEFAULT_RETENTION,
    EARLIEST,
    Commit,
    EnvelopeQuery,
    EnvelopeState,
    EventQuery,
    Lease,
    ProcessingState,
    Progress,
    Snapshot,
    Store,
    StoredEvent,
    dump_state,
    load_state,
    read_envelopes,
)
from .codec import dump_transitions, load_transitions

if TYPE_CHECKING:
    from ..queues.redis import RedisQueue

_R = TypeVar("_R")
Script = Callable[..., Any]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICRO = timedelta(microseconds=1)
#: Microseconds from :data:`EARLIEST` to the Unix epoch: order prefixes count from EARLIEST.
_FROM_EARLIEST = (_EPOCH - EARLIEST) // _MICRO
_LAST_PREFIX = 10**18 - 1
#: Index entries read (and event hashes fetched) per round trip when listing.
_PAGE = 200
#: A Redis thread with nothing to do for this long exits (the next call starts one again).
IDLE_EXIT = 2.0
#: Entries one purge or upgrade script handles at most (a script blocks Redis while it runs).
_BATCH = 500
#: The event hash fields a listing reads (everything but ``raw``), in the order Lua returns.
LISTED = (
    *("key", "env", "acct", "event", "status", "fmt", "occ", "recv", "size", "trans"),
    *("proc", "err", "att", "next", "lw", "lu", "m", "rev"),
)

#: Lua shared by the store's and the queue's scripts: key names, index upkeep.
LUA_COMMON = "local LISTED = {" + ", ".join(f"'{name}'" for name in LISTED) + "}\n"
LUA_COMMON += """
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
-- Index event `m` (hash `k`) under its new processing state; final events expire
-- `keep` microseconds after receipt (`recv`), unfinished ones never.
local function place(k, m, env, old, new, recv, keep)
  if old then redis.call('ZREM', P .. 'p:' .. old, m) end
  redis.call('ZADD', P .. 'p:' .. new, 0, m)
  local done = cjson.encode({m, env})
  if UNFINISHED[new] then
    redis.call('ZADD', P .. 'u:' .. env, 0, m)
    redis.call('ZREM', P .. 'fin', done)
    redis.call('PERSIST', k)
  else
    redis.call('ZREM', P .. 'u:' .. env, m)
    redis.call('ZADD', P .. 'fin', recv, done)
    redis.call('PEXPIREAT', k, int(math.floor((tonumber(recv) + tonumber(keep)) / 1000)))
  end
  refresh(env)
end
"""

_SCRIPTS = {
    # ARGV: P key env version state status updated_member order_prefix keep proc recv fields…
    "commit": """
local key, env = ARGV[2], ARGV[3]
local alone = ARGV[5] == '' -- an event about no envelope: no state to check or write
if redis.call('EXISTS', ek(key)) == 1 then return 'duplicate' end
if redis.call('SISMEMBER', P .. 'keys', key) == 1 then return 'duplicate' end -- a tombstone
local envk = P .. 'env:' .. env
local cur = redis.call('HMGET', envk, 'ver', 'status', 'um')
local version = tonumber(cur[1] or '0')
if not alone and version ~= tonumber(ARGV[4]) then return 'conflict' end
local m = ARGV[8] .. string.format('%016d', redis.call('INCR', P .. 'seq')) .. key
redis.call('HSET', ek(key), 'm', m, unpack(ARGV, 12))
redis.call('SADD', P .. 'keys', key)
redis.call('ZADD', P .. 'e:' .. env, 0, m)
redis.call('ZADD', P .. 'all', 0, m)
place(ek(key), m, env, false, ARGV[10], ARGV[11], ARGV[9])
if alone then return 'inserted' end
if cur[3] then
  redis.call('ZREM', P .. 'updated', cur[3])
  if cur[2] and cur[2] ~= '' then redis.call('ZREM', P .. 'updated:' .. cur[2], cur[3]) end
else -- indexed by the previous release, if at all
  redis.call('ZREM', P .. 'upd', env)
  if cur[2] and cur[2] ~= '' then redis.call('ZREM', P .. 's:' .. cur[2], env) end
end
redis.call('HSET', envk, 'ver', tostring(version + 1), 'state', ARGV[5], 'status', ARGV[6],
  'um', ARGV[7])
redis.call('ZADD', P .. 'updated', 0, ARGV[7])
if ARGV[6] ~= '' then redis.call('ZADD', P .. 'updated:' .. ARGV[6], 0, ARGV[7]) end
return 'inserted'
""",
    # ARGV: P key revision delete keep proc att next lw lu err rev
    "update": """
local k = ek(ARGV[2])
local f = redis.call('HMGET', k, 'm', 'rev', 'proc', 'env', 'recv')
if not f[1] or tonumber(f[2] or '0') ~= tonumber(ARGV[3]) then return 0 end
if ARGV[4] == '1' then
  redis.call('DEL', k)
  for _, index in ipairs({'e:' .. f[4], 'all', 'p:' .. f[3], 'u:' .. f[4]}) do
    redis.call('ZREM', P .. index, f[1])
  end
  redis.call('ZREM', P .. 'fin', cjson.encode({f[1], f[4]}))
  refresh(f[4])
  return 1
end
redis.call('HSET', k, 'proc', ARGV[6], 'att', ARGV[7], 'next', ARGV[8], 'lw', ARGV[9],
  'lu', ARGV[10], 'err', ARGV[11], 'rev', ARGV[12])
place(k, f[1], f[4], f[3], ARGV[6], f[5], ARGV[5])
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
    # ARGV: P (index member)… — tombstones for events recorded before the ``keys`` set
    "remember": """
for i = 2, #ARGV do redis.call('SADD', P .. 'keys', key_of(ARGV[i])) end
return 1
""",
    # ARGV: P (envelope member)… — moves envelopes from the previous release's indexes
    "upgrade": """
for i = 2, #ARGV, 2 do
  local env, m = ARGV[i], ARGV[i + 1]
  local envk = P .. 'env:' .. env
  local f = redis.call('HMGET', envk, 'um', 'status')
  if not f[1] and redis.call('EXISTS', envk) == 1 then
    redis.call('HSET', envk, 'um', m)
    redis.call('ZADD', P .. 'updated', 0, m)
    if f[2] and f[2] ~= '' then
      redis.call('ZADD', P .. 'updated:' .. f[2], 0, m)
      redis.call('ZREM', P .. 's:' .. f[2], env)
    end
  end
  redis.call('ZREM', P .. 'upd', env)
end
return 1
""",
}


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
    ) -> None:
        self.prefix = prefix
        self.retention = retention
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_connect_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._scripts = {name: self.script(body) for name, body in _SCRIPTS.items()}
        self._upgraded = False
        self._thread = RedisThread(
            "connect-mw-redis:" + prefix, lost=(redis.ConnectionError, redis.TimeoutError)
        )

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

    def script(self, body: str) -> Script:
        """A Lua script run as ``script(*args)``, after :data:`LUA_COMMON`, ``ARGV[1]`` the prefix.

        Used by this store and its queue (:mod:`connect_mw.queues.redis`).
        """
        registered = self._client.register_script(LUA_COMMON + body)

        def run(*args: str | bytes | int) -> Any:
            return registered(args=[self.prefix, *args])

        return run

    @property
    def keep_us(self) -> int:
        """:attr:`retention` in microseconds: how long final events are kept after receipt."""
        return self.retention // _MICRO

    # The six primitives ----------------------------------------------------------------

    def load(self, envelope_id: str) -> Snapshot | None:
        """See :meth:`Store.load`; an envelope without a version (older data) is at 0."""
        state, version = self._client.hmget(self.prefix + "env:" + envelope_id, ["state", "ver"])
        if state is None:
            return None
        return Snapshot(load_state(_str(state)), int(version or 0))

    def commit(self, event: StoredEvent, state: EnvelopeState | None, version: int) -> Commit:
        """See :meth:`Store.commit`: both checks and every write in one script.

        An empty state argument tells the script the event is about no envelope.
        """
        status = "" if state is None or state.status is None else state.status.value
        verdict = self._scripts["commit"](
            event.key,
            event.envelope_id,
            version,
            "" if state is None else dump_state(state),
            status,
            _updated_member(None if state is None else state.updated_at, event.envelope_id),
            _order_prefix(event.order_at),
            self.keep_us,
            event.processing.value,
            micros(event.received_at),
            *_pairs(_event_fields(event)),
        )
        return Commit(_str(verdict))

    def get_event(self, key: str) -> StoredEvent | None:
        """See :meth:`Store.get_event`."""
        row = self._client.hgetall(self.prefix + "ev:" + key)
        return event_from_row({_str(k): v for k, v in row.items()}, with_raw=True) if row else None

    def events(self, query: EventQuery) -> list[StoredEvent]:
        """See :meth:`Store.events`: read along sorted-set indexes kept in DocuSign order.

        Index entries of events Redis already expired are skipped.
        """
        if query.limit is not None and query.limit < 1:
            return []
        return list(itertools.islice(self._matching(query), query.limit))

    def envelopes(self, query: EnvelopeQuery) -> list[EnvelopeState]:
        """See :meth:`Store.envelopes`: one range read of a lexicographic index."""
        if query.limit < 1:
            return []
        self._upgrade_envelope_indexes()
        return read_envelopes(query, self._envelope_rows)

    def _envelope_rows(self, query: EnvelopeQuery) -> list[tuple[str, str]]:
        """The ``(envelope_id, state)`` rows of a listing (an index entry without one: none)."""
        index = "updated" if query.status is None else "updated:" + query.status
        start = b"-" if query.after is None else b"(" + _updated_member(*query.after)
        members = cast(
            list[bytes],
            self._client.zrangebylex(self.prefix + index, start, b"+", start=0, num=query.limit),
        )
        pipe = self._client.pipeline(transaction=False)
        for member in members:
            pipe.hget(self.prefix.encode() + b"env:" + member[18:], "state")
        states = zip(members, pipe.execute(), strict=True)
        return [(_str(m[18:]), _str(state)) for m, state in states if state is not None]

    def update_event(self, key: str, revision: int, progress: Progress | None) -> bool:
        """See :meth:`Store.update_event`: compare-and-set on ``rev`` (absent in older data: 0).

        The indexes follow in the same script; a final event expires ``retention`` after
        receipt, an unfinished one never.
        """
        fields = ["1"] if progress is None else ["0", *_progress_fields(progress).values()]
        return bool(self._scripts["update"](key, revision, fields[0], self.keep_us, *fields[1:]))

    # Optional overrides --------------------------------------------------------------

    def purge(self, before: datetime) -> int:
        """See :meth:`Store.purge`; expired events' index entries go too (uncounted).

        The event hashes go; their keys stay in the ``keys`` set (the tombstones).
        """
        self._remember_keys()
        deleted = 0
        while True:
            count, seen = self._scripts["purge"](micros(before), _BATCH)
            deleted += int(count)
            if int(seen) < _BATCH:
                return deleted

    def envelope_counts(self) -> dict[str | None, int]:
        """See :meth:`Store.envelope_counts`: the sizes of the per-status listing indexes.

        Envelopes never expire, so each ``updated:<status>`` set holds exactly the
        envelopes in that status, and ``updated`` all of them.
        """
        self._upgrade_envelope_indexes()
        statuses = [status.value for status in EnvelopeStatus]
        pipe = self._client.pipeline(transaction=False)
        for name in ("updated", *(f"updated:{status}" for status in statuses)):
            pipe.zcard(self.prefix + name)
        total, *sizes = (int(size) for size in pipe.execute())
        counts: dict[str | None, int] = {
            status: size for status, size in zip(statuses, sizes, strict=True) if size
        }
        if total > sum(sizes):
            counts[None] = total - sum(sizes)
        return counts

    def queue(self) -> RedisQueue:
        """The Lua-scripted queue over this store (:class:`~connect_mw.queues.redis.RedisQueue`)."""
        from ..queues.redis import RedisQueue  # noqa: PLC0415 (queues build on stores)

        return RedisQueue(self)

    def read_marker(self, name: str) -> str | None:
        """See :meth:`Store.read_marker`: the ``markers`` hash."""
        value = self._client.hget(self.prefix + "markers", name)
        return None if value is None else _str(value)

    def write_marker(self, name: str, value: str) -> None:
        """See :meth:`Store.write_marker`."""
        self._client.hset(self.prefix + "markers", name, value)

    async def offload(self, call: Callable[[], _R]) -> _R:
        """Run ``call`` on this store's Redis thread (on asyncio; else in a worker thread).

        One thread per store runs the calls in arrival order: on asyncio this gives 1.5 to 2
        times the recording throughput of a worker thread per call (``docs/stores-redis.md``).
        """
        return await self._thread.run(call)

    def close(self) -> None:
        """Let the Redis thread finish what is queued, then close the connection pool."""
        self._thread.close(5.0)
        self._client.close()

    # Reading -------------------------------------------------------------------------

    def _matching(self, query: EventQuery) -> Iterator[StoredEvent]:
        """The events ``query`` selects, in order, read page by page."""
        page = _PAGE if query.limit is None else min(_PAGE, query.limit)
        start = b"-" if query.after is None else b"[" + _after_floor(*query.after)
        members = heapq.merge(*(self._members(i, start, page) for i in _indexes(query)))
        for chunk in _chunks(members, page):
            pipe = self._client.pipeline(transaction=False)
            for member in chunk:
                pipe.hmget(self.prefix.encode() + b"ev:" + member[34:], LISTED)
            for member, values in zip(chunk, pipe.execute(), strict=True):
                row = dict(zip(LISTED, values, strict=True))
                if row["m"] != member:  # expired, or expired and recorded again
                    continue
                event = event_from_row(row)
                if query.matches(event):
                    yield event

    def _members(self, index: str, start: bytes, page: int) -> Iterator[bytes]:
        """The members of a lexicographic index from ``start`` on, ``page`` per round trip."""
        while True:
            found = cast(
                list[bytes],
                self._client.zrangebylex(self.prefix + index, start, b"+", start=0, num=page),
            )
            yield from found
            if len(found) < page:
                return
            start = b"(" + found[-1]

    def _remember_keys(self) -> None:
        """Put the keys of events stored before the ``keys`` set existed into it, once ever.

        ``keys:all`` marks the set complete: every commit since adds its key in its script.
        """
        if self._client.exists(self.prefix + "keys:all"):
            return
        for chunk in _chunks(self._members("all", b"-", _BATCH), _BATCH):
            self._scripts["remember"](*chunk)
        self._client.set(self.prefix + "keys:all", "1")

    def _upgrade_envelope_indexes(self) -> None:
        """Move envelopes from the previous release's score indexes to the lexicographic ones.

        Runs until ``upd`` is empty, once per store object (nothing writes ``upd`` any more).
        """
        if self._upgraded:
            return
        while True:
            rows = self._client.zrange(self.prefix + "upd", 0, _BATCH - 1, withscores=True)
            if not rows:
                break
            args: list[bytes] = []
            for envelope_id, score in cast(list[tuple[bytes, float]], rows):
                at = None if score == float("-inf") else _EPOCH + int(score) * _MICRO
                args += [envelope_id, _updated_member(at, envelope_id.decode())]
            self._scripts["upgrade"](*args)
        self._upgraded = True


class _Call:
    """One offloaded call: what to run, the future its caller awaits, then its result."""

    __slots__ = ("call", "error", "future", "result")

    def __init__(self, call: Callable[[], Any], future: asyncio.Future[Any]) -> None:
        self.call = call
        self.future = future
        self.result: Any = None
        self.error: BaseException | None = None

    def settle(self) -> None:
        """On the caller's event loop: hand it the result (unless it stopped waiting)."""
        if self.future.done():
            return  # cancelled: what the call did stands, like an answer lost on the way
        if self.error is not None:
            self.future.set_exception(self.error)
        else:
            self.future.set_result(self.result)


class RedisThread:
    """One thread that runs a store's blocking calls for asyncio callers, in arrival order.

    Callers await a future instead of holding a worker thread each. Once Redis is
    unreachable or times out (an exception in ``lost``), the rest of the calls queued with
    the failed one fail with that error untried: an outage costs one timeout per batch, not
    one per waiting request. The thread exits after :data:`IDLE_EXIT` seconds without work.
    """

    def __init__(self, name: str, *, lost: tuple[type[Exception], ...]) -> None:
        self.name = name
        self._lost = lost
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[_Call] = []
        self._thread: threading.Thread | None = None
        self._closing = False

    async def run(self, call: Callable[[], _R]) -> _R:
        """Queue ``call`` for the thread and await its result (not on asyncio: a worker)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # trio, through anyio
            return await anyio.to_thread.run_sync(call)
        item = _Call(call, loop.create_future())
        with self._cond:
            self._queue.append(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
                self._thread.start()
            self._cond.notify()
        return cast(_R, await item.future)

    def _serve(self) -> None:
        while True:
            with self._cond:
                idle_until = time.monotonic() + IDLE_EXIT
                while not self._queue:
                    remaining = idle_until - time.monotonic()
                    if remaining <= 0 or self._closing:
                        self._thread = None
                        return
                    self._cond.wait(remaining)
                batch, self._queue = self._queue, []
            self._run_batch(batch)

    def _run_batch(self, batch: list[_Call]) -> None:
        lost: Exception | None = None
        for item in batch:
            if lost is not None:
                item.error = lost
                continue
            try:
                item.result = item.call()
            except self._lost as exc:
                item.error = lost = exc
            except Exception as exc:
                item.error = exc
        for loop, items in _by_loop(batch).items():
            with suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
                loop.call_soon_threadsafe(_settle_all, items)

    def close(self, timeout: float) -> None:
        """Let the thread finish what is queued (waiting up to ``timeout`` seconds)."""
        with self._cond:
            self._closing = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._cond:
            self._closing = False  # a later call starts the thread again


def _by_loop(batch: list[_Call]) -> dict[asyncio.AbstractEventLoop, list[_Call]]:
    loops: dict[asyncio.AbstractEventLoop, list[_Call]] = {}
    for item in batch:
        loops.setdefault(item.future.get_loop(), []).append(item)
    return loops


def _settle_all(items: list[_Call]) -> None:
    for item in items:
        item.settle()


# Encodings ---------------------------------------------------------------------------


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // _MICRO


def micros(value: datetime | None) -> str:
    """A time as microseconds since the Unix epoch, in text; ``""`` for ``None``."""
    return "" if value is None else str(_micros(value))


def _time(value: Any) -> datetime | None:
    return _EPOCH + int(value) * _MICRO if value else None


def _order_prefix(at: datetime) -> str:
    """The first 18 characters of an event's index member: its order time, sortable."""
    return f"{_micros(at) + _FROM_EARLIEST:018d}"


def _after_floor(at: datetime, sequence: int) -> bytes:
    """The smallest member that comes after the event at ``(at, sequence)``."""
    return f"{_order_prefix(at)}{sequence + 1:016d}".encode()


def _updated_member(at: datetime | None, envelope_id: str) -> bytes:
    """An envelope's member in ``updated``: latest first, then by envelope id."""
    since = _micros(at or EARLIEST) + _FROM_EARLIEST
    return f"{_LAST_PREFIX - since:018d}".encode() + envelope_id.encode()


def optional(value: str | None) -> str:
    """An optional text field: ``""`` for ``None``, else the text behind ``=``."""
    return "" if value is None else "=" + value


def _unopt(value: Any) -> str | None:
    return _str(value)[1:] if value else None


def _str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def diagnostic(error: str | None) -> str | None:
    """An error message made storable: lone surrogates escaped, never refused."""
    return error and error.encode("utf-8", "backslashreplace").decode("utf-8")


def _progress_fields(progress: Progress) -> dict[str, str | int]:
    lease = progress.lease
    return {
        "proc": progress.processing.value,
        "att": progress.attempts,
        "next": micros(progress.next_attempt_at),
        "lw": optional(None if lease is None else lease.worker),
        "lu": micros(None if lease is None else lease.until),
        "err": optional(diagnostic(progress.error)),
        "rev": progress.revision,
    }


def _event_fields(event: StoredEvent) -> dict[str, str | bytes | int]:
    fields: dict[str, str | bytes | int] = {
        "key": event.key,
        "env": event.envelope_id,
        "acct": optional(event.account_id),
        "event": event.event,
        "status": optional(None if event.status is None else event.status.value),
        "fmt": event.format.value,
        "occ": micros(event.occurred_at),
        "recv": micros(event.received_at),
        "size": event.raw_size,
        "trans": dump_transitions(event.transitions),
        **_progress_fields(event.progress),
    }
    if event.raw is not None:
        fields["raw"] = bytes(event.raw)
    return fields


def _pairs(fields: Mapping[str, str | bytes | int]) -> list[str | bytes | int]:
    return [item for pair in fields.items() for item in pair]


def event_from_row(f: Mapping[str, Any], *, with_raw: bool = False) -> StoredEvent:
    """A stored event from its hash fields (``rev`` absent in older data: 0).

    ``f`` maps field names (text) to the values Redis returned.
    """
    lease_until = _time(f["lu"])
    received = _time(f["recv"])
    assert received is not None
    member = _str(f["m"])
    raw = f.get("raw") if with_raw else None
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
        raw=None if raw is None else bytes(raw),
        sequence=int(member[18:34]),
        revision=int(f.get("rev") or 0),
    )


def _indexes(query: EventQuery) -> list[str]:
    """The sorted sets whose merge holds every event ``query`` may select."""
    if query.envelope_id is not None:
        return ["e:" + query.envelope_id]
    if query.processing is not None:
        return sorted("p:" + state.value for state in query.processing)
    return ["all"]


def _chunks(items: Iterable[bytes], size: int) -> Iterator[list[bytes]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    rest = iter(items)
    return iter(lambda: list(itertools.islice(rest, size)), [])
