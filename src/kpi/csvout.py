"""CSV files byte for byte as ``DataFrame.to_csv(index=False, lineterminator="\\n")`` writes them,
a column at a time in Arrow instead of a field at a time in Python.

pandas hands every field to the standard library's ``csv.writer``, which is most of an
ingest's writing: the nation-sized observations and changes (350 MB of CSV) took 21 s.
Here each column becomes text as pandas makes it (floats by numpy's ``astype(str)``, missing
values empty, other objects by ``str``, floats among them by ``repr``, as ``csv`` does), fields
holding a comma, a double quote or a line feed are quoted with their quotes doubled (the
``QUOTE_MINIMAL`` rule with ``\\n`` ending lines), and the lines are joined in Arrow.  A column
of any other type (dates, categories) or a one-column table goes through pandas itself.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

NEEDS_QUOTES = '[,"\\n]'  # what makes csv.writer quote a field (QUOTE_MINIMAL, lineterminator "\n")


def _missing(value: object) -> bool:
    """pandas' ``isna`` of one object: None, NaN, NaT, pd.NA."""
    import pandas as pd

    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT or value is pd.NA


def _object_text(value: object) -> str:
    if _missing(value):
        return ""
    if type(value) is str:
        return value
    return float.__repr__(value) if isinstance(value, float) else str(value)  # as csv.writer: floats by repr


def _column_text(column: pd.Series) -> pa.Array | None:
    """A column as the text pandas writes for it (missing values empty), or None when not one of
    the types handled here."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype):
        return pc.fill_null(pa.array(column.to_numpy(dtype=object, na_value=None), pa.large_string()), "")
    if not isinstance(dtype, np.dtype):
        return None
    values = column.to_numpy()
    if dtype.kind == "f":
        text = pa.array(values.astype(str), pa.large_string())
        return pc.if_else(pa.array(np.isnan(values)), "", text)
    if dtype.kind in "iub":
        return pa.array(values.astype(str), pa.large_string())
    if dtype.kind != "O":
        return None
    try:
        text = pa.array(values, pa.large_string(), from_pandas=True)  # text and missing values only
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([_object_text(v) for v in values], pa.large_string())
    return pc.fill_null(text, "")


def _quoted(text: pa.Array) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    needs = pc.match_substring_regex(text, NEEDS_QUOTES)
    if not pc.any(needs).as_py():
        return text
    quote, nothing = pa.scalar('"', pa.large_string()), pa.scalar("", pa.large_string())
    quoted = pc.binary_join_element_wise(quote, pc.replace_substring(text, '"', '""'), quote, nothing)
    return pc.if_else(needs, quoted, text)


CHUNK_ROWS = 100_000  # rows turned into text at a time: a nation's tables are never all text at once


def _header(frame: pd.DataFrame) -> bytes | None:
    """The header line; None when the frame is not handled here (see the module's text)."""
    import pyarrow as pa

    if len(frame.columns) < 2 or not all(isinstance(c, str) for c in frame.columns):
        return None
    return (",".join(_quoted(pa.array(list(frame.columns), pa.large_string())).to_pylist()) + "\n").encode("utf-8")


def _rows(frame: pd.DataFrame) -> memoryview | None:
    """The frame's rows as CSV lines, or None when a column is of a type not handled here."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = [_column_text(frame[name]) for name in frame.columns]
    if any(c is None for c in columns):
        return None
    text = functools.partial(pa.scalar, type=pa.large_string())
    lines = pc.binary_join_element_wise(*map(_quoted, columns), text(","))
    lines = pc.binary_join_element_wise(lines, text("\n"), text(""))
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    first, last = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return memoryview(lines.buffers()[2])[first:last]


def csv_chunks(frame: pd.DataFrame) -> Iterator[bytes | memoryview] | None:
    """The frame as ``to_csv`` writes it (UTF-8, no index, ``\n``): its header line, then its rows
    ``CHUNK_ROWS`` at a time (made as they are asked for); None when it has a column of a type
    not handled here, or a single column (csv quotes its empty fields)."""
    header = _header(frame)
    if header is None or any(_column_text(frame[name].iloc[:0]) is None for name in frame.columns):
        return None
    return _chunks(header, frame)


def _chunks(header: bytes, frame: pd.DataFrame) -> Iterator[bytes | memoryview]:
    yield header
    for start in range(0, len(frame), CHUNK_ROWS):
        yield _rows(frame.iloc[start : start + CHUNK_ROWS])


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """What ``write_csv`` writes for ``frame``."""
    chunks = csv_chunks(frame)
    if chunks is None:
        return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    return b"".join(bytes(chunk) for chunk in chunks)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` to ``path`` as ``to_csv(index=False, encoding="utf-8", lineterminator="\n")`` would."""
    chunks = csv_chunks(frame)
    if chunks is None:
        frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        return
    with open(path, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
