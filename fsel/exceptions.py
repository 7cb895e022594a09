"""Exceptions fsel raises for problems in what the user gave it."""


class FselInputError(ValueError):
    """Bad input from the user: a missing file, an unknown column, a malformed card.

    The message is one line that names the cause and, where possible, the fix.
    The command line turns it into exit code 2 without a traceback.
    """
