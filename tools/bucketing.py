"""Unleash-compatible percentage bucketing, so a plan's cohorts can be shown to nest.

Unleash puts a user in bucket ``murmur3_x86_32(f"{group_id}:{user_id}", seed=0) % 100 + 1`` and
enables a percentage rollout iff ``rollout > 0 and bucket <= rollout``. The bucket depends only on the
group id and the sticky value, so with one group id a user in at 5% is in at 20%: cohorts nest. A
different group id (or stickiness attribute) re-draws everyone, which is what ``cohorts_not_nested``
warns about. Pure Python: no extension module to build for one hash.
"""

from __future__ import annotations

_C1 = 0xCC9E2D51
_C2 = 0x1B873593
_MASK = 0xFFFFFFFF


def _rotl32(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _MASK


def murmur3_x86_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit of ``data`` as an unsigned int (the variant Unleash and flagd use)."""
    h = seed & _MASK
    n_blocks = len(data) // 4
    for i in range(n_blocks):
        k = int.from_bytes(data[4 * i : 4 * i + 4], "little")
        k = (k * _C1) & _MASK
        k = _rotl32(k, 15)
        k = (k * _C2) & _MASK
        h ^= k
        h = _rotl32(h, 13)
        h = (h * 5 + 0xE6546B64) & _MASK
    tail = data[4 * n_blocks :]
    if tail:
        k = int.from_bytes(tail, "little")
        k = (k * _C1) & _MASK
        k = _rotl32(k, 15)
        k = (k * _C2) & _MASK
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    h ^= h >> 16
    return h


def bucket(user_id: str, group_id: str, normalizer: int = 100, seed: int = 0) -> int:
    """Unleash's normalized value of ``user_id`` in ``group_id``: 1..normalizer."""
    return murmur3_x86_32(f"{group_id}:{user_id}".encode(), seed) % normalizer + 1


def is_enabled(user_id: str, group_id: str, rollout: float) -> bool:
    """Whether a percentage rollout of ``rollout`` percent (0-100) includes ``user_id``."""
    return rollout > 0 and bucket(user_id, group_id) <= rollout
