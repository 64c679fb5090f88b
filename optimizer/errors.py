"""Errors that map to the exit codes of MODEL.md §5."""

from __future__ import annotations

import sys

EXIT_OK, EXIT_LIMIT, EXIT_INPUT, EXIT_UNPLACED, EXIT_ERROR, EXIT_INTERRUPT = 0, 1, 2, 3, 4, 130


class InputError(Exception):
    """Invalid input or command line (exit code 2).

    ``lines`` holds one human-readable problem per line, each naming the file, the record
    and the field."""

    exit_code = 2

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = list(lines)


class SolverError(Exception):
    """An internal or solver failure, or a plan that failed verification (exit code 4)."""

    exit_code = 4


def err(lines) -> None:
    """Print each of ``lines`` on stderr: how a command says why it stops."""
    for line in lines:
        print(line, file=sys.stderr)


def refused(e: Exception, prefix: str = "") -> int:
    """Say why a command refused its input and return exit 2: an :class:`InputError`'s own lines,
    else one line ``PREFIX: message`` (a ``ValueError`` from checking the command line)."""
    err(e.lines if isinstance(e, InputError) else [f"{prefix}: {e}"])
    return EXIT_INPUT
