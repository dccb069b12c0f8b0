"""Generic mutators of bytes and text, each a pure function of its input and a NumPy Generator."""
from __future__ import annotations

import re

import numpy as np

NUMBER = re.compile(rb"(?<![\w.])-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?")
WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
NUMBER_REPLACEMENTS = (b"0", b"-1", b"1", b"2", b"3", b"0.5", b"2.5", b"-0.5", b"1e-30",
                       b"2147483647", b"2147483648", b"-2147483649", b"4294967296",
                       b"99999999999999999999", b"1e30", b"-1e30", b"1e400", b"nan", b"inf",
                       b"-inf", b"65536", b"100000")


def choice(rng: np.random.Generator, items):
    return items[int(rng.integers(len(items)))]


def flip_bit(data: bytes, rng: np.random.Generator) -> bytes:
    if not data:
        return bytes([int(rng.integers(256))])
    out = bytearray(data)
    out[int(rng.integers(len(out)))] ^= 1 << int(rng.integers(8))
    return bytes(out)


def set_byte(data: bytes, rng: np.random.Generator) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    out[int(rng.integers(len(out)))] = choice(rng, (0, 0x7F, 0x80, 0xFF, int(rng.integers(256))))
    return bytes(out)


def cut(data: bytes, rng: np.random.Generator) -> bytes:
    """Drops a run of 1…64 bytes, or truncates (a third of the time)."""
    at = int(rng.integers(len(data) + 1))
    if rng.random() < 1 / 3:
        return data[:at]
    return data[:at] + data[at + int(rng.integers(1, 65)):]


def insert(data: bytes, rng: np.random.Generator) -> bytes:
    at = int(rng.integers(len(data) + 1))
    return data[:at] + rng.bytes(int(rng.integers(1, 17))) + data[at:]


def duplicate(data: bytes, rng: np.random.Generator) -> bytes:
    """Repeats a run of the bytes in place (a doubled field, layer or line)."""
    if not data:
        return data
    start = int(rng.integers(len(data)))
    stop = min(len(data), start + int(rng.integers(1, 129)))
    return data[:stop] + data[start:stop] + data[stop:]


BYTE_MUTATORS = (flip_bit, set_byte, cut, insert, duplicate)


def mutate_bytes(data: bytes, rng: np.random.Generator, max_ops: int = 3) -> bytes:
    for _ in range(int(rng.integers(1, max_ops + 1))):
        data = choice(rng, BYTE_MUTATORS)(data, rng)
    return data


def replace_number(text: bytes, rng: np.random.Generator) -> bytes:
    """One number → 0, −1, huge, fractional, out of int32, NaN, ..."""
    matches = list(NUMBER.finditer(text))
    if not matches:
        return text
    match = choice(rng, matches)
    return text[:match.start()] + choice(rng, NUMBER_REPLACEMENTS) + text[match.end():]


def replace_word(text: bytes, rng: np.random.Generator) -> bytes:
    """One identifier (field name, enum value, quoted name) → another one of the text."""
    matches = list(WORD.finditer(text))
    if len(matches) < 2:
        return text
    match = choice(rng, matches)
    return text[:match.start()] + choice(rng, matches).group() + text[match.end():]


def _lines(text: bytes) -> list[bytes]:
    return text.split(b"\n")


def drop_line(text: bytes, rng: np.random.Generator) -> bytes:
    lines = _lines(text)
    del lines[int(rng.integers(len(lines)))]
    return b"\n".join(lines)


def double_line(text: bytes, rng: np.random.Generator) -> bytes:
    lines = _lines(text)
    at = int(rng.integers(len(lines)))
    lines.insert(at, lines[at])
    return b"\n".join(lines)


def swap_lines(text: bytes, rng: np.random.Generator) -> bytes:
    lines = _lines(text)
    first, second = (int(i) for i in rng.integers(len(lines), size=2))
    lines[first], lines[second] = lines[second], lines[first]
    return b"\n".join(lines)


TEXT_MUTATORS = ((replace_number, 5), (replace_word, 2), (drop_line, 2), (double_line, 2),
                 (swap_lines, 1), (flip_bit, 1), (cut, 1), (insert, 1))
_TEXT_WEIGHTS = np.array([weight for _, weight in TEXT_MUTATORS], np.float64)
_TEXT_WEIGHTS /= _TEXT_WEIGHTS.sum()


def mutate_text(text: bytes, rng: np.random.Generator, max_ops: int = 3) -> bytes:
    """1…max_ops text mutations, numbers most often (the parameters Caffe checks)."""
    for _ in range(int(rng.integers(1, max_ops + 1))):
        mutator = TEXT_MUTATORS[int(rng.choice(len(TEXT_MUTATORS), p=_TEXT_WEIGHTS))][0]
        text = mutator(text, rng)
    return text
