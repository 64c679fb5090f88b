"""Errors that map to the exit codes of MODEL.md §5."""

from __future__ import annotations


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
