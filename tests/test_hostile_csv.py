"""CSV files as offices save them: other encodings and delimiters read the same; what cannot be
read is one clear line (exit 2, previous outputs intact); ragged lines go to the rejects."""

from __future__ import annotations

import csv
import io
import unicodedata

import pandas as pd
import pytest

from kpi import config
from kpi.csvread import decode_csv
from kpi.errors import SourceError

from .test_hostile_kit import (
    RECORDS_HEADER,
    annex_bytes,
    file_error,
    ingested_once,
    prepared,
    put_raw,
    rejects_of,
    run_ingest,
    snapshot,
)

__all__ = ["ingested_once", "prepared"]  # fixtures used here

SOURCE = "bc24_dissemination.csv"
TONES = "\u0300\u0301\u0303\u0309\u0323"  # the five tone marks Windows-1258 writes as combining characters


def to_cp1258(text: str) -> bytes:
    """Text as a Vietnamese Windows saves "CSV (Comma delimited)": Windows-1258, tones combining."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            base, *marks = unicodedata.normalize("NFD", ch)
            letter = unicodedata.normalize("NFC", base + "".join(m for m in marks if m not in TONES))
            out += (letter + "".join(m for m in marks if m in TONES)).encode("cp1258")
    return bytes(out)


def redelimited(text: str, delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(csv.reader(io.StringIO(text)))
    return out.getvalue()


def shipped_text() -> str:
    return (config.DATA_DIR / "raw" / SOURCE).read_text(encoding="utf-8")


SAME_CONTENT = [
    pytest.param(lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"), id="utf-8-bom"),
    pytest.param(lambda t: t.encode("utf-16"), id="utf-16-le-bom"),
    pytest.param(lambda t: b"\xfe\xff" + t.encode("utf-16-be"), id="utf-16-be-bom"),
    pytest.param(to_cp1258, id="windows-1258"),
    pytest.param(lambda t: redelimited(t, ";").encode("utf-8"), id="semicolons"),
    pytest.param(lambda t: redelimited(t, "\t").encode("utf-8"), id="tabs"),
    pytest.param(lambda t: to_cp1258(redelimited(t, ";").replace("\n", "\r\n")), id="windows-1258-semicolons-crlf"),
    pytest.param(lambda t: t.replace("\n", "\r").encode("utf-8"), id="old-mac-cr-line-ends"),
]


def source_rows(obs: pd.DataFrame) -> list:
    return obs[obs["source_id"] == "bc24_dissemination"].sort_values("source_ref").values.tolist()


@pytest.mark.parametrize("encode", SAME_CONTENT)
def test_other_encodings_and_delimiters_read_the_same(prepared, encode):
    before = pd.read_csv(prepared / "processed" / "observations.csv", dtype=str)
    put_raw(prepared, SOURCE, encode(shipped_text()), "records_csv", "bc24_dissemination")
    code, _, err = run_ingest(prepared)
    assert (code, err) == (0, "")
    after = pd.read_csv(prepared / "processed" / "observations.csv", dtype=str)
    assert source_rows(after) == source_rows(before) and len(source_rows(after)) > 5


def test_windows_1258_text_is_nfc_after_reading():
    raw = to_cp1258("Huyện Tam Đường")
    assert b"\xcc" in raw or b"\xf2" in raw  # a combining tone mark byte, as Windows-1258 writes it
    assert decode_csv(raw, "x.csv") == unicodedata.normalize("NFC", "Huyện Tam Đường")


def csv_with(lines: list[str]) -> bytes:
    return ("\n".join([RECORDS_HEADER] + lines) + "\n").encode("utf-8")


LINE = "tea.area,,Huyện Tam Đường,2019,12,ha,§test,"
FILE_CASES = [
    pytest.param(
        lambda: "ma_chi_tieu,dia_ban\ntea.area,Straße\n".encode("latin-1"),
        "bad.csv: line 2: not UTF-8 text (byte 0xdf) nor Vietnamese Windows-1258; save the file as 'CSV UTF-8'",
        id="other-code-page",
    ),
    pytest.param(
        lambda: (RECORDS_HEADER + "\n" + LINE + "\n").encode("utf-16-le"),
        "bad.csv: line 1: NUL bytes: it is UTF-16 text without a byte-order mark, or not text at all; save "
        "the file as 'CSV UTF-8'",
        id="utf-16-without-bom",
    ),
    pytest.param(
        lambda: csv_with([LINE, 'tea.area,,"Huyện Tam Đường,2020,12,ha,§test,', LINE]),
        "bad.csv: line 3: cannot be read as CSV (unexpected end of data); check the double quotes on that line",
        id="quote-left-open",
    ),
    pytest.param(
        lambda: csv_with(['tea.area,,"Huyện" Tam Đường,2020,12,ha,§test,']),
        "bad.csv: line 2: cannot be read as CSV (',' expected after '\"'); check the double quotes on that line",
        id="stray-quote",
    ),
    pytest.param(
        annex_bytes,
        "bad.csv: is a workbook (Excel or OpenDocument), not CSV text, but its layout reads CSV: export the "
        "sheet as 'CSV UTF-8 (Comma delimited)'",
        id="workbook-named-csv",
    ),
    pytest.param(lambda: b"", "bad.csv: the file is empty: expected a header line", id="empty-csv"),
    pytest.param(
        lambda: (RECORDS_HEADER + ",gia_tri\n" + LINE + ",1\n").encode("utf-8"),
        "bad.csv: line 1: column 'gia_tri' appears 2 times; keep one",
        id="column-twice",
    ),
]


@pytest.mark.parametrize("build, message", FILE_CASES)
def test_unreadable_csv_stops_ingest_and_keeps_previous_outputs(prepared, build, message):
    before = snapshot(prepared / "processed")
    put_raw(prepared, "bad.csv", build(), "records_csv", "bad")
    code, out, err = run_ingest(prepared)
    assert (code, out, err) == (2, "", file_error(prepared / "raw", message))
    assert snapshot(prepared / "processed") == before


def test_ragged_lines_are_rejected_with_a_hint_about_quotes(prepared):
    put_raw(
        prepared,
        "ragged.csv",
        csv_with(
            [
                LINE,
                "tea.area,,Huyện Tam Đường,2020,74,03,ha,§test,",  # a decimal comma not in quotes: one field too many
                "tea.area,,Huyện Tam Đường,2021,12",  # cut short
            ]
        ),
        "records_csv",
        "ragged",
    )
    code, _, err = run_ingest(prepared)
    assert (code, err) == (1, "")
    rejects = rejects_of(prepared)
    assert rejects[["source_ref", "field", "raw_value", "reason"]].values.tolist() == [
        [
            "ragged.csv:3",
            "line",
            "tea.area,,Huyện Tam Đường,2020,74,03,ha,§test,",
            "line has 9 fields, the header has 8; a value holding ',' must be in double quotes",
        ],
        ["ragged.csv:4", "line", "tea.area,,Huyện Tam Đường,2021,12", "line has 5 fields, the header has 8"],
    ]
    obs = pd.read_csv(prepared / "processed" / "observations.csv", dtype=str)
    assert obs[obs["source_id"] == "ragged"]["source_ref"].tolist() == ["ragged.csv:2 §test"]


def test_decode_refuses_a_bom_that_lies():
    with pytest.raises(SourceError, match=r"not UTF-16 text although it starts with that byte-order mark"):
        decode_csv(b"\xff\xfe" + b"\x00\xd8", "x.csv")  # a lone surrogate
