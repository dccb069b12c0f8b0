"""Unique tensor and node names for the graphs the converters build."""
from __future__ import annotations

from collections.abc import Iterable


class UniqueNames:
    """Hands out names not used yet: `stem` itself if free, else `stem_2`, `stem_3`, ..."""

    def __init__(self, taken: Iterable[str] = ()):
        self._taken = set(taken)

    def fresh(self, stem: str) -> str:
        name, count = stem, 1
        while name in self._taken:
            count += 1
            name = f"{stem}_{count}"
        self._taken.add(name)
        return name
