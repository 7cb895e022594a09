"""Exceptions fsel raises for problems in what the user gave it."""


class FselInputError(ValueError):
    """Bad input from the user: a missing file, an unknown column, a malformed card.

    The message is one line that names the cause and, where possible, the fix.
    The command line turns it into exit code 2 without a traceback.
    """


def first_line(error: BaseException) -> str:
    """The first non-empty line of ``error``'s message, or its type's name.

    Library errors (scikit-learn's, pyarrow's) can run over many lines; fsel quotes only
    the first so that its own message stays one line.
    """
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
