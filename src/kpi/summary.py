"""What an ingest says about itself: the console summary, the validation report (JSON and
Markdown) and the Frictionless data-package descriptor of the processed tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from kpi import __version__, labels, reference, schema
from kpi.columns import per_distinct, records

if TYPE_CHECKING:
    from kpi.ingest import IngestResult

CONSOLE_ROWS = 20  # rejects, findings and conflicts the summary prints; every one is in its CSV


def counts(obs: pd.DataFrame) -> dict:
    theme = per_distinct(obs["indicator"], lambda i: i.map(reference.catalogue()["theme"]))
    return {
        "by_theme": theme.value_counts().sort_index().to_dict(),
        "by_source": obs["source_id"].value_counts().sort_index().to_dict(),
        "by_year": {int(k): int(v) for k, v in obs["year"].value_counts().sort_index().items()},
        "by_status": obs["status"].value_counts().sort_index().to_dict(),
    }


def validation_report(result: IngestResult) -> dict:
    return {
        "kpi_version": __version__,
        "data_version": result.data_version,
        "observations": len(result.observations),
        "counts": counts(result.observations),
        "missing_cells": result.missing_cells,
        "rejects": records(result.rejects),
        "findings": records(result.findings),
        "conflicts": records(result.conflicts),
    }


def validation_markdown(report: dict) -> str:
    lines = [
        f"# Validation report (data version {report['data_version']})",
        "",
        f"- observations: {report['observations']}",
        f"- cells marked missing (`-`, empty): {report['missing_cells']}",
        f"- rejects: {len(report['rejects'])}",
        f"- findings: {len(report['findings'])}",
        f"- conflicts between sources: {len(report['conflicts'])}",
        "",
    ]
    for title, rows, fields in [
        ("Rejects", report["rejects"], ["source_ref", "raw_value", "reason"]),
        ("Findings", report["findings"], ["check", "indicator", "area_code", "year", "message"]),
        ("Conflicts", report["conflicts"], ["indicator", "area_code", "year", "message"]),
    ]:
        lines += [f"## {title}", ""]
        if not rows:
            lines += ["None.", ""]
            continue
        lines += ["| " + " | ".join(fields) + " |", "|" + "---|" * len(fields)]
        lines += ["| " + " | ".join(str(r[f]).replace("|", "\\|") for f in fields) + " |" for r in rows]
        lines.append("")
    return "\n".join(lines)


def datapackage(result: IngestResult) -> dict:
    """A Frictionless data package descriptor of the processed tables, from their schemas (``kpi.schema``).

    Lists (OCOP products, partner projects, varieties) have the columns of their layouts; their
    fields are described by type only.
    """
    cat = reference.catalogue()
    used = cat.loc[sorted(result.observations["indicator"].unique())]
    indicators = [
        {
            "id": r.id,
            "name_vi": r.name_vi,
            "name_en": r.name_en,
            "unit": r.unit,
            "aggregation": r.aggregation,
            "nature": r.nature,
            "definition": r.definition,
        }
        for r in used.itertuples()
    ]
    resources = [
        {**table.descriptor(), **({"indicators": indicators} if table is schema.OBSERVATIONS else {})}
        for table in schema.WRITTEN
    ]
    types = {"int64": "integer", "float64": "number"}
    resources += [
        {
            "name": name,
            "path": f"lists/{name}.csv",
            "format": "csv",
            "encoding": "utf-8",
            "schema": {"fields": [{"name": c, "type": types.get(str(t[c].dtype), "string")} for c in t.columns]},
        }
        for name, t in result.lists.items()
    ]
    years = result.observations["year"]
    return {
        "name": "tam-duong-kpi",
        "title": f"{labels.publication('en')['series']}, {years.min()}-{years.max()}",
        "version": result.data_version,
        "licenses": [{"name": "CC-BY-4.0"}],
        "sources": [{"title": r.title, "path": f"raw/{r.file}"} for r in result.sources.itertuples()],
        "resources": resources,
    }


def capped(lines: list[str], total: int, table: str) -> list[str]:
    """The first ``CONSOLE_ROWS`` lines of a list, and how many more there are in ``table``."""
    more = total - min(total, CONSOLE_ROWS)
    return lines[:CONSOLE_ROWS] + ([f"  … and {more:,} more (all in {table})"] if more else [])


def summary(result: IngestResult) -> list[str]:
    c = counts(result.observations)
    fmt = lambda d: ", ".join(f"{k} {v}" for k, v in d.items())
    head = CONSOLE_ROWS
    lines = [
        f"{len(result.observations)} observations (data version {result.data_version}) in {result.seconds:.2f} s",
        f"  by theme:  {fmt(c['by_theme'])}",
        f"  by source: {fmt(c['by_source'])}",
        f"  by year:   {fmt(c['by_year'])}",
        f"  by status: {fmt(c['by_status'])}",
        f"cells marked missing: {result.missing_cells}",
        f"rejects: {len(result.rejects)}" + (" (see rejects.csv)" if len(result.rejects) else ""),
    ]
    lines += capped(
        [f"  {r.source_ref}: {r.raw_value!r}: {r.reason}" for r in result.rejects.head(head).itertuples()],
        len(result.rejects),
        "rejects.csv",
    )
    lines.append(f"findings: {len(result.findings)}")
    lines += capped(
        [
            f"  [{r.check}] {r.indicator} {r.area_code} {r.year}: {r.message}"
            for r in result.findings.head(head).itertuples()
        ],
        len(result.findings),
        "findings.csv",
    )
    lines.append(f"conflicts between sources: {len(result.conflicts)}")
    lines += capped(
        [f"  {r.message} (chosen: {r.chosen_source})" for r in result.conflicts.head(head).itertuples()],
        len(result.conflicts),
        "conflicts.csv",
    )
    lines.append(f"written to {result.out_dir}")
    return lines
