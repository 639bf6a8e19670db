"""Vietnamese text: NFC, diacritic-free folding for matching, and number text as printed.

Number rule (the Vietnamese convention of the report and the statistical yearbooks): the
dot groups thousands and the comma is the decimal mark, so ``1.947`` is 1947, ``74,03`` is
74.03 and ``1.493,9`` is 1493.9.  Spaces may group thousands too (``3 000``).  Text that
only makes sense in the English convention (``1,947.5``, ``74.03``, ``1,234,567``) is an
error, never guessed.  A single comma followed by exactly three digits (``1,947``) is read
the Vietnamese way (1.947) but flagged ``ambiguous``: the cleaning step refuses it, asking
for ``1.947`` (1947) or ``1,9470`` (the decimal number).

Words around a number are kept apart, not crashed on: a qualifier in front gives a status
(``trên 150`` → lower_bound, ``gần 2.000`` / ``ước 85`` / ``kế hoạch 20.087`` → estimate,
``dưới 5`` → upper_bound, ``sơ bộ 1.234`` → preliminary) and text after it is returned as ``unit_text`` (``09 cơ sở`` →
9, "cơ sở").  Ranges (``160-320``, ``5 - 10``) give a low and a high value.

>>> parse_number("1.947").value
1947.0
>>> parse_number("74,03").value
74.03
>>> p = parse_number("trên 1.350 hộ"); (p.value, p.status, p.unit_text)
(1350.0, 'lower_bound', 'hộ')
>>> parse_number("160-320").high
320.0
>>> parse_number("1,947.5").error
"English number format ('1,947.5'): in Vietnamese numbers the dot groups thousands and the comma is the decimal mark"
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass

SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"  # footnote markers glued to numbers in the report
MISSING_TOKENS = frozenset({"", "-", "–", "—", "…", "...", ".."})
SPACES = "\u00a0\u2007\u2009\u202f"  # no-break and thin spaces used as thousands groups

# Qualifier words, written folded (no diacritics, lower case); longest are tried first.
QUALIFIERS = {
    "lower_bound": ["tren", "hon", "it nhat", "toi thieu", "over", "more than", "at least", ">=", ">", "≥"],
    "upper_bound": ["duoi", "khong qua", "toi da", "under", "less than", "<=", "<", "≤"],
    "preliminary": ["so bo", "preliminary"],
    "estimate": [
        "gan",
        "khoang",
        "uoc tinh",
        "uoc dat",
        "uoc",
        "xap xi",
        "ke hoach",
        "du kien",
        "nearly",
        "about",
        "approx.",
        "approximately",
        "estimated",
        "plan",
        "~",
        "≈",
    ],
}
_QUALIFIER_LIST = sorted(((w, s) for s, ws in QUALIFIERS.items() for w in ws), key=lambda x: -len(x[0]))

_NUMBER = r"[+-]?\d(?:[\d., \u00a0\u2007\u2009\u202f]*\d)?"
_NUMBER_RE = re.compile(rf"^(?P<num>{_NUMBER})\s*(?:(?:-|–|—|đến|to)\s*(?P<num2>{_NUMBER}))?\s*(?P<rest>.*)$", re.S)


@functools.lru_cache(maxsize=1 << 16)
def nfc(text: str) -> str:
    """NFC-normalise and trim; inner runs of whitespace become one space.

    >>> nfc("  Na\u0300 Tă\u0300m ") == "Nà Tằm"
    True
    """
    return " ".join(unicodedata.normalize("NFC", text).split())  # split() cuts at what ``\s`` matches


def _fold_char(ch: str) -> str:
    if ch in "đĐ":
        return "d"
    base = unicodedata.normalize("NFD", ch)[0]
    return base.lower() if len(base.lower()) == 1 else ch


class _FoldTable(dict):
    """``str.translate`` table folding each character once, the first time it is met."""

    def __missing__(self, code: int) -> str:
        self[code] = folded = _fold_char(chr(code))
        return folded


_FOLD = _FoldTable()


@functools.lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Fold for matching: NFC, no diacritics, lower case, one space; same length as ``nfc``.

    >>> fold("Bản Hòn"), fold("BẢN  HON"), fold("Thị trấn")
    ('ban hon', 'ban hon', 'thi tran')
    """
    return nfc(text).translate(_FOLD)


@dataclass(frozen=True)
class ParsedNumber:
    """What a cell's text says: a value (or a low/high range), a status, trailing unit text.

    ``value`` is None when the cell is missing (``-``, empty) or when ``error`` says why the
    text is not a number.  ``status`` is None when no qualifier was written.
    """

    value: float | None = None
    high: float | None = None
    status: str | None = None
    unit_text: str = ""
    error: str | None = None
    ambiguous: bool = False

    @property
    def missing(self) -> bool:
        return self.value is None and self.error is None


def _number_token(token: str) -> tuple[float | None, str | None, bool]:
    """Read one number token the Vietnamese way; returns (value, error, ambiguous)."""
    raw = token
    digits = token.translate({ord(c): " " for c in SPACES})
    if " " in digits.strip():
        groups = digits.split()
        if not all(len(g) == 3 and g.isdigit() for g in groups[1:]) or not groups[0].lstrip("+-").isdigit():
            return None, f"spaces inside the number {raw!r} do not group thousands", False
        digits = "".join(groups)
    digits = digits.strip()
    sign = -1.0 if digits.startswith("-") else 1.0
    digits = digits.lstrip("+-")
    ambiguous = False
    if digits.count(",") > 1:
        return (
            None,
            (
                f"English number format ({raw!r}): in Vietnamese numbers the dot groups "
                "thousands and the comma is the decimal mark"
            ),
            False,
        )
    if "," in digits:
        whole, frac = digits.split(",")
        if "." in frac:
            return (
                None,
                (
                    f"English number format ({raw!r}): in Vietnamese numbers the dot groups "
                    "thousands and the comma is the decimal mark"
                ),
                False,
            )
        if len(frac) == 3 and "." not in whole and len(whole) <= 3:
            ambiguous = True
    else:
        whole, frac = digits, ""
    if "." in whole:
        groups = whole.split(".")
        if not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
            return (
                None,
                (
                    f"decimal point in {raw!r}: in Vietnamese numbers the dot groups thousands; "
                    "write the decimals after a comma (74,03)"
                ),
                False,
            )
        whole = "".join(groups)
    if not whole.isdigit() or (frac and not frac.isdigit()):
        return None, f"{raw!r} is not a number", False
    return sign * float(f"{whole}.{frac or 0}"), None, ambiguous


def parse_number(raw: object) -> ParsedNumber:
    """Parse a number as printed in a Vietnamese table cell; never raises.

    >>> parse_number("-").missing, parse_number("09 cơ sở").value, parse_number("ước 85").status
    (True, 9.0, 'estimate')
    >>> parse_number("220 (sơ bộ)").status, parse_number("220 (sơ bộ)").unit_text
    ('preliminary', '')
    """
    if raw is None:
        return ParsedNumber()
    if isinstance(raw, bool):
        return ParsedNumber(error=f"{raw!r} is a yes/no value, not a number")
    if isinstance(raw, (int, float)):
        value = float(raw)
        if math.isnan(value):
            return ParsedNumber()
        if math.isinf(value):
            return ParsedNumber(error=f"{raw!r} is not a finite number")
        return ParsedNumber(value=value)
    if not isinstance(raw, str):
        return ParsedNumber(error=f"{raw!r} ({type(raw).__name__}) is not a number")
    text = nfc(raw.translate({ord(c): None for c in SUPERSCRIPT_DIGITS}))
    if text in MISSING_TOKENS:
        return ParsedNumber()
    folded = fold(text)
    status = None
    for word, word_status in _QUALIFIER_LIST:
        if folded.startswith(word) and (len(folded) == len(word) or not folded[len(word)].isalpha()):
            status = word_status
            text = text[len(word) :].lstrip(" :")
            break
    match = _NUMBER_RE.match(text)
    if not match:
        return ParsedNumber(error=f"{raw!r} is not a number")
    rest = match["rest"].strip()
    if any(ch.isdigit() for ch in rest):
        return ParsedNumber(error=f"{raw!r} holds more than one number; give one value per cell")
    value, error, ambiguous = _number_token(match["num"])
    if error:
        return ParsedNumber(error=error)
    high = None
    if match["num2"]:
        high, error, ambiguous_high = _number_token(match["num2"])
        if error:
            return ParsedNumber(error=error)
        ambiguous = ambiguous or ambiguous_high
        if high < value:
            return ParsedNumber(error=f"range {raw!r} runs downwards")
    if status is None and rest.startswith("(") and rest.endswith(")"):  # "220 (sơ bộ)": a qualifier after it
        inner = fold(rest[1:-1].strip())
        status = next((s for w, s in _QUALIFIER_LIST if inner == w), None)
        rest = "" if status else rest
    return ParsedNumber(value=value, high=high, status=status, unit_text=rest, ambiguous=ambiguous)


def format_number(value: float, lang: str = "vi", decimals: int | None = None) -> str:
    """Format a number for a reader: ``vi`` → ``41.100``, ``74,03``; ``en`` → ``41,100``, ``74.03``.

    ``decimals`` None keeps up to two decimals and drops trailing zeros.

    >>> format_number(41100), format_number(74.03), format_number(41100, "en"), format_number(74.03, "en")
    ('41.100', '74,03', '41,100', '74.03')
    >>> format_number(-1493.9, "vi", 1)
    '-1.493,9'
    """
    if lang not in ("vi", "en"):
        raise ValueError(f"unknown language {lang!r}: expected 'vi' or 'en'")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:,.2f}".rstrip("0").rstrip(".") if decimals is None else f"{value:,.{decimals}f}"
    if text in ("-0", "-0.0", "-0.00"):
        text = text[1:]
    if lang == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text
