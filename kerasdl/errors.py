"""Errors that the command line reports as one line, without a traceback."""


class UsageError(ValueError):
    """A bad value given by the user: an unknown name, a bad number, a clash
    with an existing run. The message names the value and the valid choices."""


def check_choice(kind, value, choices):
    """Returns `value` if it is one of `choices`, else raises a `UsageError`
    that names the value and the choices."""
    if value not in choices:
        raise UsageError(f"Unknown {kind}: {value!r}. Choose one of: {', '.join(choices)}")
    return value
