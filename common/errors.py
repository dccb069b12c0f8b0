"""The one exception type for bad user input, shared by `converters` and `reproduce`.

A CLI catches it (common.cli) and prints its message as one line, no traceback, exit status 2.
"""


class UserError(Exception):
    """Bad input: str() is one line naming the file, layer or flag and what is wrong."""
