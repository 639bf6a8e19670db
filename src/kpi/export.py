"""``kpi export``: the changes table as a workbook for officials.

One sheet per theme; Vietnamese number text (``41.100``, ``74,03``) in the reading
columns with their unit, the plain numbers beside them for anyone who computes, the
statuses of both years, the exact source places, a frozen header and column widths fitted
to their content.  Labels are Vietnamese first, English second.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment

from kpi import labels, reference, workbook
from kpi.write import atomic_write


def _headers(baseline: int, target: int) -> list[str]:
    def both(group: str, key: str) -> str:
        return f"{labels.text(group, key, 'vi')} - {labels.text(group, key, 'en')}"

    return [
        both("columns", "indicator"),
        "Indicator",
        both("columns", "area"),
        both("columns", "unit"),
        f"{both('columns', 'baseline')} {baseline}",
        f"{both('columns', 'target')} {target}",
        both("columns", "change_abs"),
        both("columns", "change_pct"),
        both("columns", "cagr_pct"),
        both("columns", "baseline_status"),
        both("columns", "target_status"),
        f"{both('columns', 'source')} {baseline}",
        f"{both('columns', 'source')} {target}",
        f"{baseline} (số - number)",
        f"{target} (số - number)",
    ]


def _row(r: pd.Series) -> list:
    unit = r["unit"]
    decimals = 2 if unit in ("t/ha", "kg/m3") else 1 if unit == "%" else None
    number = lambda v: None if pd.isna(v) else float(v)
    return [
        labels.indicator_name(r["indicator"], "vi"),
        labels.indicator_name(r["indicator"], "en"),
        r["area_name"],
        labels.unit_label(unit, "vi"),
        labels.fmt_value(r["baseline_value"], unit, "vi", r["baseline_status"]),
        labels.fmt_value(r["target_value"], unit, "vi", r["target_status"]),
        labels.fmt_change(r["change_abs"], "vi", unit, decimals=decimals),
        labels.fmt_change(r["change_pct"], "vi", decimals=1),
        labels.fmt_change(r["cagr_pct"], "vi", decimals=2),
        f"{labels.status_label(r['baseline_status'], 'vi')} - {labels.status_label(r['baseline_status'], 'en')}",
        f"{labels.status_label(r['target_status'], 'vi')} - {labels.status_label(r['target_status'], 'en')}",
        r["baseline_ref"] or "–",
        r["target_ref"] or "–",
        number(r["baseline_value"]),
        number(r["target_value"]),
    ]


def build_workbook(changes: pd.DataFrame, baseline: int, target: int) -> Workbook:
    cat = reference.catalogue()
    wb = Workbook()
    wb.remove(wb.active)
    headers = _headers(baseline, target)
    themes = changes["indicator"].map(cat["theme"])
    for theme in ["crops", "tea", "livestock", "fish", "initiatives"]:
        part = changes[themes == theme]
        ws = wb.create_sheet(f"{theme}")
        ws.title = labels.text("themes", theme, "vi")[:31].replace(":", "")
        ws.append(headers)
        for _, r in part.iterrows():
            ws.append(_row(r))
        workbook.style_header(ws, freeze="C2")
        for row in ws.iter_rows(min_row=2):
            for cell in row[4:9]:
                cell.alignment = Alignment(horizontal="right")
            for cell in row[13:15]:
                cell.number_format = "#,##0.##"
        workbook.fit_widths(ws)
    return wb


def export(changes: pd.DataFrame, out: Path, baseline: int, target: int) -> Path:
    out = Path(out)
    wb = build_workbook(changes, baseline, target)
    atomic_write(out, wb.save)
    return out
