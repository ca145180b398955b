"""Small helpers every service uses, once."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size`` (a statement's IN list, a transaction's rows)."""
    if size < 1:
        raise ValueError(size)
    seq = items if isinstance(items, list) else list(items)
    for start in range(0, len(seq), size):
        yield seq[start:start + size]
