"""Errors a user can meet, each naming the place as a person finds it (file, sheet, A1 cell or line)."""

from __future__ import annotations

import os

UNEXPECTED_EXIT = 70  # exit code of a fault of the package itself (BSD's EX_SOFTWARE)
DEBUG_ENV = "KPI_DEBUG"  # set to "1" by `kpi --debug`


class KpiError(Exception):
    """An error the command line reports in one line, without a traceback (unless --debug)."""

    exit_code = 2

    def _render_traceback_(self) -> list[str]:
        """How IPython shows it in a notebook: one line, not a traceback (the cell still fails)."""
        return [f"{type(self).__name__}: {self}"]


class SourceError(KpiError):
    """A raw file that cannot be read as its layout says (all its problems at once).

    ``unexpected``: one of the problems is a fault of kpi itself met while reading a file (exit 70,
    as for any unexpected error), listed with the other files' problems rather than hiding them.
    """

    def __init__(self, path: str, problems: list[str], unexpected: bool = False):
        self.path = path
        self.problems = list(problems)
        self.unexpected = unexpected
        if unexpected:
            self.exit_code = UNEXPECTED_EXIT
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{path}: {len(self.problems)} problem(s)\n{lines}")


def debugging() -> bool:
    """True under ``kpi --debug`` (also in worker processes): unexpected errors keep their traceback."""
    return os.environ.get(DEBUG_ENV) == "1"


def unexpected_problem(exc: BaseException) -> str:
    """A fault of kpi met while reading one file, as one problem line of that file."""
    return (
        f"unexpected error while reading it: {type(exc).__name__}: {exc} (a fault of kpi, not of the file: "
        "please report it with the file; run with --debug for details)"
    )


class ReferenceDataError(KpiError):
    """A reference table (catalogue, gazetteer, units, layout) is missing or inconsistent."""


class ParameterError(KpiError):
    """A notebook or command parameter that is of the wrong type, out of range or unknown."""


class UnitMismatch(KpiError):
    """Two values with different units were about to be compared or combined."""


def cell_ref(row0: int, col0: int) -> str:
    """A1 reference of a 0-based (row, column).

    >>> cell_ref(0, 0), cell_ref(6, 2), cell_ref(9, 27)
    ('A1', 'C7', 'AB10')
    """
    return f"{column_letter(col0)}{row0 + 1}"


def column_letter(col0: int) -> str:
    """Excel column letters of a 0-based column index.

    >>> column_letter(0), column_letter(25), column_letter(26)
    ('A', 'Z', 'AA')
    """
    letters = ""
    n = col0 + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """0-based column index of Excel column letters.

    >>> column_index("A"), column_index("AB")
    (0, 27)
    """
    n = 0
    for ch in letters.strip().upper():
        if not "A" <= ch <= "Z":
            raise ValueError(f"{letters!r} is not a column letter")
        n = n * 26 + ord(ch) - 64
    return n - 1
