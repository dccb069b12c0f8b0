"""The one exception type for bad user input, shared by `converters` and `reproduce`.

A CLI catches it (common.cli) and prints its message as one line, no traceback, exit status 2.
"""


class UserError(Exception):
    """Bad input: str() is one line naming the file, layer or flag and what is wrong."""


def first_line(error: BaseException) -> str:
    """The first line of an error's message (its type's name when empty): what a library's
    multi-line error contributes to a one-line UserError."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
