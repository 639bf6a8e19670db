"""Errors a user can meet, each naming the place as a person finds it (file, sheet, A1 cell or line)."""
from __future__ import annotations


class KpiError(Exception):
    """An error the command line reports in one line, without a traceback (unless --debug)."""

    exit_code = 2

    def _render_traceback_(self) -> list[str]:
        """How IPython shows it in a notebook: one line, not a traceback (the cell still fails)."""
        return [f"{type(self).__name__}: {self}"]


class SourceError(KpiError):
    """A raw file that cannot be read as its layout says (all its problems at once)."""

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{path}: {len(self.problems)} problem(s)\n{lines}")


class ReferenceError_(KpiError):
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
