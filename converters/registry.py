"""What the Caffe layer registry and the VJP rule registry share: a name → entry table that
refuses a second entry under the same name, and discovery of every module of a package.

Both registries fill themselves by importing each module of their package (pkgutil), so a
new layer type or gradient rule is one new file or one decorated function: no list to edit.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from typing import Generic, TypeVar

Entry = TypeVar("Entry")


class DuplicateRegistrationError(ValueError):
    """Two entries registered under one name (a programming error, raised at import)."""


class Registry(Generic[Entry]):
    """A dict from name to entry, filled once at import; a repeated name is an error."""

    def __init__(self, what: str):
        self.what = what
        self.entries: dict[str, Entry] = {}
        self._origins: dict[str, str] = {}

    def add(self, name: str, entry: Entry, origin: str) -> None:
        """Registers `entry` under `name`; `origin` (module.function) words the error."""
        if name in self.entries:
            raise DuplicateRegistrationError(
                f"two {self.what} for {name!r}: {self._origins[name]} and {origin}")
        self.entries[name] = entry
        self._origins[name] = origin


def origin_of(function) -> str:
    """`module.qualname` of a function, to name it in errors."""
    return f"{function.__module__}.{function.__qualname__}"


def import_package_modules(package_name: str, package_path: Iterable[str]) -> list[str]:
    """Imports every module of the package (helper modules named `_x` included, so nothing is
    skipped silently); returns their names in import order (sorted, hence deterministic)."""
    names = sorted(info.name for info in pkgutil.iter_modules(list(package_path)))
    for name in names:
        importlib.import_module(f"{package_name}.{name}")
    return names
