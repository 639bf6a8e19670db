"""The house workbook: the same tables give the same bytes, whatever the clock says."""

from __future__ import annotations

import io
import time
import zipfile

from openpyxl import Workbook

from kpi.workbook import to_bytes


def workbook() -> Workbook:
    wb = Workbook()
    wb.active.append(["Chỉ tiêu", 1947.0])
    return wb


def test_same_content_gives_the_same_bytes_a_second_later():
    first = to_bytes(workbook())
    time.sleep(1.1)  # openpyxl stamps the clock (to the second) into docProps/core.xml on every save
    second = to_bytes(workbook())
    assert first == second
    core = zipfile.ZipFile(io.BytesIO(first)).read("docProps/core.xml").decode()
    assert "<dcterms:modified" in core and "2000-01-01T00:00:00Z</dcterms:modified>" in core
