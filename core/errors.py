"""The one exception type of nnhw.

`NnhwError` marks a domain failure or bad input (an unknown name, a malformed file, an
incompatible choice). Its message is one line that names the option, file or value and says what
was wrong; the CLI prints it on stderr and exits with code 2.
"""


class NnhwError(Exception):
    """Bad input or a domain failure, with a one-line message for the user."""
