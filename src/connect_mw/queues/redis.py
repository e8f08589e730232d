"""``RedisQueue``: the claim rules of :mod:`connect_mw.queues.api` as Lua scripts.

The store keeps the sorted set ``due``: every envelope with unfinished events, scored by the
moment its first unfinished event (DocuSign order) becomes claimable — that event's due
time, pushed past the end of any live lease on any unfinished event of the envelope. Every
script that changes an envelope's unfinished events or leases rescores it, so the rules
reduce to: an envelope scored at or before ``now`` offers its first unfinished event
(``u:<envelope>``'s first member). ``claim``, ``finish`` and ``requeue`` are each one script.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from ..stores.api import ProcessingState, StoredEvent, utcnow
from ..stores.redis import LISTED, RedisStore, diagnostic, event_from_row, micros, optional
from .api import Queue

_R = TypeVar("_R")

# Lease event `m` to a worker until a time; the event's listed fields, as claimed.
_LEASE = """
local function lease(m, worker, upto)
  local k = ek(key_of(m))
  redis.call('HSET', k, 'lw', worker, 'lu', upto)
  redis.call('HINCRBY', k, 'att', 1)
  redis.call('HINCRBY', k, 'rev', 1)
  return redis.call('HMGET', k, unpack(LISTED))
end
"""

_SCRIPTS = {
    # ARGV: P worker now until limit
    "claim": """
local out = {}
for _, env in ipairs(redis.call('ZRANGEBYSCORE', P .. 'due', '-inf', ARGV[3],
                                'LIMIT', 0, ARGV[5])) do
  local head = redis.call('ZRANGE', P .. 'u:' .. env, 0, 0)[1]
  if head then out[#out + 1] = lease(head, ARGV[2], ARGV[4]) end
  refresh(env)
end
return out
""",
    # ARGV: P worker now until key
    "claim_key": """
local f = redis.call('HMGET', ek(ARGV[5]), 'm', 'env', 'proc')
if not f[1] or not UNFINISHED[f[3]] then return {} end
local due = redis.call('ZSCORE', P .. 'due', f[2])
if not due or tonumber(due) > tonumber(ARGV[3]) then return {} end
if redis.call('ZRANGE', P .. 'u:' .. f[2], 0, 0)[1] ~= f[1] then return {} end
local row = lease(f[1], ARGV[2], ARGV[4])
refresh(f[2])
return {row}
""",
    # ARGV: P key worker state error next release keep
    "finish": """
local k = ek(ARGV[2])
local f = redis.call('HMGET', k, 'lw', 'proc', 'm', 'env', 'recv')
if f[1] ~= ARGV[3] then return 0 end
redis.call('HSET', k, 'proc', ARGV[4], 'err', ARGV[5], 'next', ARGV[6], 'lw', '', 'lu', '')
if ARGV[7] == '1' then redis.call('HINCRBY', k, 'att', -1) end
redis.call('HINCRBY', k, 'rev', 1)
place(k, f[3], f[4], f[2], ARGV[4], f[5], ARGV[8])
return 1
""",
    # ARGV: P key now keep
    "requeue": """
local k = ek(ARGV[2])
local f = redis.call('HMGET', k, 'lu', 'proc', 'm', 'env', 'recv')
if not f[3] then return 0 end
local lease = num(f[1])
if lease and lease >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', k, 'proc', 'pending', 'att', '0', 'next', ARGV[3], 'lw', '', 'lu', '')
redis.call('HINCRBY', k, 'rev', 1)
place(k, f[3], f[4], f[2], 'pending', f[5], ARGV[4])
return 1
""",
}


class RedisQueue(Queue):
    """The :class:`Queue` of a :class:`RedisStore`: each operation is one Lua script."""

    def __init__(self, store: RedisStore) -> None:
        super().__init__()
        self.store = store
        self._scripts = {name: store.script(_LEASE + body) for name, body in _SCRIPTS.items()}

    async def offload(self, call: Callable[[], _R]) -> _R:
        """Blocking calls run the way the store's own do."""
        return await self.store.offload(call)

    def claim(
        self,
        worker: str,
        *,
        lease_for: timedelta,
        limit: int = 1,
        now: datetime | None = None,
        key: str | None = None,
    ) -> list[StoredEvent]:
        """See :meth:`Queue.claim`: the first event of up to ``limit`` due envelopes."""
        if limit < 1:
            return []
        moment = now or utcnow()
        args = (optional(worker), micros(moment), micros(moment + lease_for))
        if key is None:
            rows = self._scripts["claim"](*args, limit)
        else:
            rows = self._scripts["claim_key"](*args, key)
        return [_listed(row) for row in rows]

    def finish(
        self,
        key: str,
        worker: str,
        state: ProcessingState,
        *,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """See :meth:`Queue.finish`. Final events expire ``retention`` after receipt."""
        release = state is ProcessingState.PENDING
        due = retry_at if retry_at is not None and not release else utcnow()
        args = (optional(worker), state.value, optional(diagnostic(error)), micros(due))
        return bool(self._scripts["finish"](key, *args, "01"[release], self.store.keep_us))

    def requeue(self, key: str, *, now: datetime | None = None) -> bool:
        """See :meth:`Queue.requeue`; the event no longer expires."""
        return bool(self._scripts["requeue"](key, micros(now or utcnow()), self.store.keep_us))


def _listed(row: Sequence[object]) -> StoredEvent:
    return event_from_row(dict(zip(LISTED, row, strict=True)))
