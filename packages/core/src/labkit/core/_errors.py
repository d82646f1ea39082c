"""Exceptions that the CLI reports as user errors (message only, exit status 2)."""

from __future__ import annotations


class LabkitError(Exception):
    """A user-facing error: bad input, missing file, refused operation.

    The CLI prints its message without a traceback and exits with status 2.

    Example:
        >>> raise LabkitError("zeros table 'z.txt' line 3: not a number: 'abc'")
        Traceback (most recent call last):
        ...
        labkit.core._errors.LabkitError: zeros table 'z.txt' line 3: not a number: 'abc'
    """


class ConfigError(LabkitError):
    """An invalid configuration value, naming the field and what is allowed.

    Example:
        >>> str(ConfigError("epochs", "must be >= 1, got 0"))
        "config field 'epochs': must be >= 1, got 0"
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.reason = message
        super().__init__(f"config field {field!r}: {message}")


class CheckpointError(LabkitError):
    """No usable checkpoint could be read (every candidate was missing or corrupt)."""


class RunInterrupted(KeyboardInterrupt):
    """SIGTERM (or another stop signal) turned into an interruption, like Ctrl-C is for SIGINT.

    Example:
        >>> RunInterrupted(15).signum
        15
    """

    def __init__(self, signum: int) -> None:
        import signal

        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
