"""The one exception type the driver raises for bad user input.

A CLI catches it and prints its message as one line (no traceback) with a non-zero exit.
"""


class UserError(Exception):
    """Bad input: the message names the file, layer or flag and says what is wrong."""
