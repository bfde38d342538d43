"""Online variable state in Redis, shared by every worker of a decision service.

Each (stream, entity key) is one Redis string holding the key's state as JSON (orjson). Reads for an
application are one ``MGET`` (one round trip); writes are optimistic transactions
(``WATCH``/``MULTI``/``EXEC``, retried on conflict), so two workers observing events of the
same person never lose one. The watermark is raised atomically by a small Lua script. State
survives a restart of the workers; Redis persistence is the operator's choice.

Examples
--------
>>> import redis  # doctest: +SKIP
>>> engine = OnlineEngine(spec, target="app", store=RedisStateStore(redis.Redis(), prefix="fk:v1"))  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
import redis

from fengkong.features.online import InProcessStore, KeyState, Step, check_spec_hash
from fengkong.features.spec import VariableSpec

__all__ = ["RedisStateStore", "state_prefix"]


def _dump(state: KeyState) -> bytes:
    """A key's state as JSON: orjson, or, when it holds an integer beyond 64 bits (the sum
    of squares of large amounts), the standard library's exact JSON marked ``J``."""
    body = state.to_json()
    try:
        return orjson.dumps(body)
    except TypeError:
        return b"J" + json.dumps(body).encode()


def _load(raw: bytes | str) -> KeyState:
    """The inverse of :func:`_dump` (orjson would read a huge integer as a float)."""
    data = raw.encode() if isinstance(raw, str) else raw
    return KeyState.from_json(json.loads(data[1:]) if data[:1] == b"J" else orjson.loads(data))


def state_prefix(spec: VariableSpec) -> str:
    """The Redis prefix of a spec's online state: its name and content hash, so a new
    version of the spec starts in its own namespace while the old one keeps serving.

    >>> from fengkong.features import load_spec
    >>> state_prefix(load_spec("application_risk")).startswith("fk:vars:application_risk:")
    True
    """
    return f"fk:vars:{spec.name}:{spec.sha256[:16]}"


_ADVANCE = """
local raw = redis.call('GET', KEYS[1])
if not raw or tonumber(ARGV[1]) > tonumber(raw) then
  redis.call('SET', KEYS[1], ARGV[1])
  return ARGV[1]
end
return raw
"""


_COMMIT = """
local n = tonumber(ARGV[1])
-- the reads are unchanged, else nothing is written (the step is run again)
for i = 1, n do
  local now = redis.call('GET', KEYS[i])
  if (now or '') ~= ARGV[1 + i] then return 0 end
end
local ts = ARGV[#ARGV - 1]
local late = ARGV[#ARGV]
local held = redis.call('GET', KEYS[#KEYS])
if held and ts ~= '' and late ~= '' and tonumber(ts) < tonumber(held) - tonumber(late) then
  return 0  -- the watermark moved past the lateness meanwhile: read again (and refuse)
end
for j = n + 1, #KEYS - 1 do
  redis.call('SET', KEYS[j], ARGV[1 + j])
end
if ts ~= '' and (not held or tonumber(ts) > tonumber(held)) then
  redis.call('SET', KEYS[#KEYS], ts)
end
return 1
"""


class RedisStateStore:
    """A :class:`~fengkong.features.online.StateStore` in Redis under ``prefix``.

    The state is tied to one spec's content (:meth:`bind`, called by the engine): the full
    hash is kept under ``<prefix>:spec`` and another spec on the same prefix is refused
    (:func:`state_prefix` gives each spec version its own prefix).
    """

    def __init__(self, client: redis.Redis, *, prefix: str, max_retries: int = 50) -> None:
        self.client = client
        self.prefix = prefix
        self.max_retries = max_retries
        self._advance = client.register_script(_ADVANCE)
        self._commit = client.register_script(_COMMIT)
        self._watermark_key = f"{prefix}:watermark"

    def _key(self, stream_index: int, key: Any) -> str:
        return f"{self.prefix}:{stream_index}:{json.dumps(key)}"

    def get_many(self, keys: list[tuple[int, Any]]) -> list[KeyState | None]:
        if not keys:
            return []
        raw = self.client.mget([self._key(i, k) for i, k in keys])
        return [None if r is None else _load(r) for r in raw]

    def update(
        self, stream_index: int, key: Any, change: Callable[[KeyState | None], KeyState]
    ) -> None:
        name = self._key(stream_index, key)
        for _ in range(self.max_retries):
            with self.client.pipeline() as pipe:
                try:
                    pipe.watch(name)  # type: ignore[no-untyped-call]
                    raw = pipe.get(name)
                    state = change(None if raw is None else _load(raw))
                    pipe.multi()
                    pipe.set(name, _dump(state))
                    pipe.execute()
                    return
                except redis.WatchError:
                    continue
        raise RuntimeError(f"could not update {name} after {self.max_retries} conflicting writes")

    def bind(self, spec_sha256: str) -> None:
        name = f"{self.prefix}:spec"
        self.client.set(name, spec_sha256, nx=True)
        held = self.client.get(name)
        text = held.decode() if isinstance(held, bytes) else held
        check_spec_hash(text, spec_sha256, self.prefix)

    def transact(self, keys: list[tuple[int, Any]], step: Step, *, lateness: int = 0) -> Any:
        """One optimistic step in two round trips: read the keys and the watermark (one
        ``MGET``), run ``step``, then one Lua script that writes the changed states only if
        none of the keys read changed meanwhile and the event is still within ``lateness``
        of the watermark (and raises it); retried otherwise, so the step sees the new state
        and refuses what became late. Only applications sharing an entity key conflict."""
        names = [self._key(i, k) for i, k in keys]
        for _ in range(self.max_retries):
            raw = self.client.mget([*names, self._watermark_key])
            states = {
                key: None if r is None else _load(r) for key, r in zip(keys, raw[:-1], strict=True)
            }
            watermark = None if raw[-1] is None else int(raw[-1])
            result, changed, ts = step(states, watermark)
            written = [(self._key(*k), st) for k in changed if (st := states[k]) is not None]
            done = self._commit(
                keys=[*names, *(n for n, _ in written), self._watermark_key],
                args=[
                    len(names),
                    *(b"" if r is None else r for r in raw[:-1]),
                    *(_dump(st) for _, st in written),
                    "" if ts is None else ts,
                    lateness if lateness else "",
                ],
            )
            if done:
                return result
        raise RuntimeError(
            f"could not decide under {self.prefix} after {self.max_retries} conflicts"
        )

    def get_watermark(self) -> int | None:
        raw = self.client.get(self._watermark_key)
        return None if raw is None else int(raw)

    def advance_watermark(self, ts: int) -> int:
        return int(self._advance(keys=[self._watermark_key], args=[ts]))

    def seed(self, store: InProcessStore, *, batch: int = 10_000) -> int:
        """Copy a store built in process (e.g. by replaying history) into Redis; returns keys
        written. A store built for another spec than the prefix holds is refused."""
        if store.spec_sha256 is not None:
            self.bind(store.spec_sha256)
        written = 0
        with self.client.pipeline(transaction=False) as pipe:
            for (index, key), state in store.items():
                pipe.set(self._key(index, key), _dump(state))
                written += 1
                if written % batch == 0:
                    pipe.execute()
            pipe.execute()
        watermark = store.get_watermark()
        if watermark is not None:
            self.advance_watermark(watermark)
        return written

    def clear(self) -> int:
        """Delete every key under the prefix; returns how many were deleted."""
        names = list(self.client.scan_iter(match=f"{self.prefix}:*", count=1000))
        return int(self.client.delete(*names)) if names else 0
