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
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

NEEDS_QUOTES = '[,"\\n]'  # what makes csv.writer quote a field (QUOTE_MINIMAL, lineterminator "\n")


def _handled(dtype: object) -> bool:
    """Whether columns of this type are made text here (else the frame goes through pandas)."""
    import numpy as np
    import pandas as pd

    return isinstance(dtype, pd.StringDtype) or (isinstance(dtype, np.dtype) and dtype.kind in "fiubO")


def _object_text(values) -> list[str]:
    """An object column's values as csv.writer writes them: missing ones (pandas' ``isna``) empty,
    text as it is, floats by ``float.__repr__``, anything else by ``str``."""
    import pandas as pd

    return [
        "" if missing else v if type(v) is str else float.__repr__(v) if isinstance(v, float) else str(v)
        for v, missing in zip(values, pd.isna(values))
    ]


def _column_text(column: pd.Series) -> pa.Array:
    """A column of a type ``_handled`` as the fields pandas writes for it: missing values empty,
    text quoted where it must be (numbers and truth values never need it)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":  # already Arrow text: no Python strings
        text = pa.array(column.array)  # one array, or chunks of one (as read from Parquet)
        return _quoted(pc.fill_null(text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text, ""))
    if isinstance(dtype, pd.StringDtype) or dtype.kind == "O":
        return _distinct_fields(column)
    values = column.to_numpy()
    if dtype.kind == "f":
        return pc.if_else(pa.array(np.isnan(values)), "", _distinct_text(values))
    if dtype.kind in "iu":
        return pa.array(values).cast(pa.large_string())  # the digits numpy's str gives
    return pa.array(values.astype(str), pa.large_string())


def _distinct_fields(column: pd.Series) -> pa.Array:
    """A text (or object) column's fields, each distinct value made text and quoted once.

    Objects that are equal but not of one type (1, 1.0 and True) would share one text: a
    column that is not all text and missing values is written value by value instead."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    codes, distinct = pd.factorize(column)
    try:  # text and missing values only
        text = pa.array(pd.Series(distinct).to_numpy(dtype=object), pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return _quoted(pa.array(_object_text(column.to_numpy()), pa.large_string()))
    fields = _quoted(pc.fill_null(text, "")).take(pa.array(codes, mask=codes < 0))
    return pc.fill_null(fields, "")


def _distinct_text(values) -> pa.Array:
    """Floats as numpy's ``astype(str)`` writes them, each distinct value made text once.

    Values are told apart by their bits, so -0.0 stays apart from 0.0 (the NaNs' text is
    replaced by the caller)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    values = np.ascontiguousarray(values)
    if values.dtype.itemsize not in (2, 4, 8):  # long double: no integer of its width to tell values apart
        return pa.array(values.astype(str), pa.large_string())
    codes, bits = pd.factorize(values.view(f"i{values.dtype.itemsize}"))
    distinct = bits.view(values.dtype)
    if distinct.dtype == np.float64 and np.get_printoptions()["legacy"] is False:
        # Python's repr is numpy's text of a float64, made twice as quickly (not under numpy's
        # legacy printing of 1.13, which rounds to 12 digits)
        text = pa.array(list(map(float.__repr__, distinct.tolist())), pa.large_string())
    else:
        text = pa.array(distinct.astype(str), pa.large_string())
    return text.take(pa.array(codes))


def _quoted(text: pa.Array) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    if not _may_need_quotes(text):
        return text
    needs = pc.match_substring_regex(text, NEEDS_QUOTES)
    quote, nothing = pa.scalar('"', pa.large_string()), pa.scalar("", pa.large_string())
    quoted = pc.binary_join_element_wise(quote, pc.replace_substring(text, '"', '""'), quote, nothing)
    return pc.if_else(needs, quoted, text)


def _may_need_quotes(text: pa.Array) -> bool:
    """Whether a field of ``text`` (Arrow text) may hold a comma, a double quote or a line feed:
    looked for in its UTF-8 bytes at once (no byte of a character of several bytes is one of
    them), so that a column which needs no quotes (most do) is not matched field by field."""
    import numpy as np
    import pyarrow as pa

    _, offsets, data = text.buffers()[:3]
    if data is None or not len(text):
        return False
    ends = np.frombuffer(offsets, dtype=np.int64 if pa.types.is_large_string(text.type) else np.int32)
    body = np.frombuffer(data, dtype=np.uint8)[ends[text.offset] : ends[text.offset + len(text)]].tobytes()
    return any(body.find(byte) >= 0 for byte in QUOTED_BYTES)  # memchr: a few ms for a nation's column


QUOTED_BYTES = (b",", b'"', b"\n")  # NEEDS_QUOTES, as bytes


CHUNK_ROWS = 100_000  # rows turned into text at a time: a nation's tables are never all text at once


def _header(frame: pd.DataFrame) -> bytes | None:
    """The header line; None when the frame is not handled here (see the module's text)."""
    import pyarrow as pa

    if len(frame.columns) < 2 or not all(isinstance(c, str) for c in frame.columns):
        return None
    return (",".join(_quoted(pa.array(list(frame.columns), pa.large_string())).to_pylist()) + "\n").encode("utf-8")


def _rows(frame: pd.DataFrame) -> memoryview:
    """The frame's rows as CSV lines."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = [_column_text(frame[name]) for name in frame.columns]
    text = functools.partial(pa.scalar, type=pa.large_string())
    lines = pc.binary_join_element_wise(*columns, text(","))
    lines = pc.binary_join_element_wise(lines, text("\n"), text(""))
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    first, last = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return memoryview(lines.buffers()[2])[first:last]


def csv_chunks(frame: pd.DataFrame) -> Iterator[bytes | memoryview] | None:
    """The frame as ``to_csv`` writes it (UTF-8, no index, ``\n``): its header line, then its rows
    ``CHUNK_ROWS`` at a time (made as they are asked for); None when it has a column of a type
    not handled here, or a single column (csv quotes its empty fields)."""
    header = _header(frame)
    if header is None or not all(_handled(dtype) for dtype in frame.dtypes):
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
