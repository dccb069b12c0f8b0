"""Unit and seed lists as the sweep's flags write them: `all`, `a-b`, `a,b,c`, or a mix.

`0-9,100,500-504` is 0…9, 100, 500…504 in that order; a value given twice is kept once (its
first place). `all` stands alone and means every unit of the layer (there is no `all` seed).
"""
from __future__ import annotations

from common.errors import UserError

ALL = "all"


def parse_spec(text: str, flag: str, *, count: int | None = None) -> tuple[int, ...]:
    """The integers `text` lists, in order, duplicates dropped.

    `count` is the number of valid values (0 … count−1) when `all` is allowed and the values
    are checked against it; None allows no `all` and checks nothing but the syntax (values ≥ 0).
    A malformed SPEC is a UserError naming `flag`.
    """
    spec = text.strip()
    if spec.lower() == ALL:
        if count is None:
            raise UserError(f"{flag} {text}: 'all' is not allowed here (give a-b or a,b,c)")
        return tuple(range(count))
    values: dict[int, None] = {}
    for item in spec.split(","):
        for value in _parse_item(item.strip(), text, flag):
            values.setdefault(value, None)
    if count is not None:
        outside = [value for value in values if value >= count]
        if outside:
            raise UserError(f"{flag} {text}: {outside[0]} is out of range (valid: 0-{count - 1})")
    return tuple(values)


def _parse_item(item: str, text: str, flag: str) -> range:
    if item.lower() == ALL:
        raise UserError(f"{flag} {text}: 'all' must stand alone")
    first, dash, last = item.partition("-")
    try:
        low = _non_negative(first)
        high = _non_negative(last) if dash else low
    except ValueError:
        raise UserError(f"{flag} {text}: bad item '{item}' (expected N or A-B with "
                        "non-negative integers)") from None
    if high < low:
        raise UserError(f"{flag} {text}: empty range '{item}' ({low} > {high})")
    return range(low, high + 1)


def _non_negative(token: str) -> int:
    token = token.strip()
    if not (token.isascii() and token.isdigit()):  # refuses '', signs, inner spaces, decimals
        raise ValueError(token)
    return int(token)
