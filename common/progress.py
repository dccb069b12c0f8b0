"""Progress for anything a user waits for: a tqdm bar on a terminal, sparse plain lines elsewhere.

A tqdm bar written to a file or pipe rewrites its line on every update (a 200-iteration run
leaves hundreds of kilobytes of bar in a log). Without a terminal, `progress` instead logs one
plain line at most every `interval` seconds, plus one at the end (for bars that are left
standing, `leave=True`; a transient bar only speaks if it lasts longer than `interval`), unless
the last line already said the final count.
"""
from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO, TypeVar

from tqdm import tqdm

T = TypeVar("T")
log = logging.getLogger(__name__)
PLAIN_INTERVAL_S = 5.0


def is_terminal(stream: IO | None = None) -> bool:
    """Whether progress goes to a terminal (stderr by default)."""
    stream = stream if stream is not None else sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


class PlainProgress:
    """tqdm's small interface (update, set_postfix, close, iteration) as sparse log lines."""

    def __init__(self, iterable: Iterable | None, total: int | None, desc: str,
                 interval: float = PLAIN_INTERVAL_S, stream: IO | None = None,
                 leave: bool = True) -> None:
        self.iterable, self.desc, self.interval, self.stream = iterable, desc, interval, stream
        self.leave = leave
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__")
                                                      else None)
        self.n = 0
        self.postfix = ""
        self.started = self.last = time.monotonic()
        self.emitted_n: int | None = None  # the count the last line said
        self.closed = False

    def _line(self) -> str:
        elapsed = time.monotonic() - self.started
        of = f"/{self.total}" if self.total is not None else ""
        rate = ""
        if self.n and elapsed > 0:  # tqdm's rate and ETA, as words
            rate = f", {self.n / elapsed:.3g}/s"
            if self.total is not None and self.n < self.total:
                rate += f", about {(self.total - self.n) * elapsed / self.n:.0f} s left"
        postfix = f", {self.postfix}" if self.postfix else ""
        return f"{self.desc}: {self.n}{of} in {elapsed:.1f} s{rate}{postfix}"

    def _emit(self) -> None:
        line = self._line()
        if self.stream is not None:
            print(line, file=self.stream, flush=True)
        else:
            log.info("%s", line)
        self.last = time.monotonic()
        self.emitted_n = self.n

    def update(self, count: int = 1) -> None:
        self.n += count
        if time.monotonic() - self.last >= self.interval:
            self._emit()

    def set_postfix(self, **values) -> None:
        self.postfix = ", ".join(f"{key}={value}" for key, value in values.items())

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if (self.leave or self.emitted_n is not None) and self.emitted_n != self.n:
                self._emit()

    def __iter__(self) -> Iterator:
        for item in self.iterable:
            yield item
            self.update()

    def __enter__(self) -> "PlainProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "",
             leave: bool = True, enabled: bool = True, stream: IO | None = None,
             unit: str = "it", unit_scale: bool = False, initial: int = 0):
    """A tqdm bar when stderr (or `stream`) is a terminal; otherwise a `PlainProgress`.

    With `enabled=False` nothing is shown (a disabled tqdm). `unit`, `unit_scale` (e.g. bytes
    as kB/MB) and `initial` (a resumed count) are tqdm's.
    """
    if not enabled:
        return tqdm(iterable, total=total, desc=desc, disable=True)
    if is_terminal(stream):
        return tqdm(iterable, total=total, desc=desc, leave=leave, file=stream, unit=unit,
                    unit_scale=unit_scale, initial=initial)
    bar = PlainProgress(iterable, total, desc, stream=stream, leave=leave)
    bar.n = initial
    return bar
