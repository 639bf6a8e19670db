"""Sources cited for people: numbered references, the place inside a source, and caveats.

A report cites documents, not files: the nine ``bc24_*`` files are all transcriptions of
report 24-BC/HU, so they share one reference number; a public web page is its own
document (found by the URL in an observation's note).  Documents are described in
``data/reference/documents.csv``; a source that is not there (a yearly form) is cited from
its provenance record.  The cell address or report section is the secondary detail:
``[1] 02_Che!D7``.

>>> place("bc24_annex.xlsx!02_Che!D7 − bc24_annex.xlsx!02_Che!E7")
'02_Che!D7 − E7'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from kpi import config, labels, reference
from kpi.text import fold

URL = re.compile(r"https?://[^\s;,\"'<>]+")
OPERATORS = re.compile(r"\s+([−÷×+])\s+")
WORKBOOK_REF = re.compile(r"^[^!]+\.(?:xlsx|xlsm|xls|ods)!(?P<rest>.+)$", re.I)
CSV_REF = re.compile(r"^[^:\s]+\.(?:csv|tsv):[\d, ]+?(?:\s+(?P<rest>[^\d\s,].*))?$", re.I)
MONTH = re.compile(r"tháng (\d{1,2})/(\d{4})")
REAGGREGATED = re.compile(  # the note kpi.reorg.to_new_units writes
    r"^re-aggregated to the 2025 unit \(Res\. 1670/NQ-UBTVQH15 cl\. (\d+)\): (.*?)(?:; Tam Đường part only, the unit "
    r"also took in (.*))?$"
)
DERIVED_BASELINE = re.compile(  # the note kpi.derive.baselines writes
    r"^(\d{4}) = (\d{4}) value ([\d,.]+) − printed increase ([\d,.]+) on \d{4}"
)


def _plain(number: str) -> float:
    """A number as kpi.derive writes it in notes (``41,100``, ``1,493.9``)."""
    return float(number.replace(",", ""))


def _term(term: str) -> str:
    """One input's place: a workbook's sheet and cell, a report section, a fact id, or the lines of a list."""
    term = term.strip()
    book = WORKBOOK_REF.match(term)
    if book:
        return book.group("rest")
    text = CSV_REF.match(term)
    if text:
        return text.group("rest") or term  # bare lines mean something only with the file's name
    return term


def place(source_ref: str) -> str:
    """Where in its source a value is, without the file name (the reference number names the document).

    A derivation keeps its operators; inputs in one place are named once; cells of one sheet
    name the sheet once.

    >>> place("bc24_annex.xlsx!02_Che!D7 − bc24_annex.xlsx!02_Che!E7")
    '02_Che!D7 − E7'
    >>> place("bc24_dissemination.csv:8 §A.1 ÷ bc24_dissemination.csv:9 §A.1"), place("public_facts.csv:23 P22")
    ('§A.1', 'P22')
    >>> place("bc24_varieties.csv:8, 9, 10")
    'bc24_varieties.csv:8, 9, 10'
    """
    if not isinstance(source_ref, str) or not source_ref:
        return ""
    parts = OPERATORS.split(source_ref)
    shown, operators = [_term(t) for t in parts[0::2]], parts[1::2]
    if len(set(shown)) == 1:
        return shown[0]
    sheets = {s.rsplit("!", 1)[0] for s in shown if "!" in s}
    if len(sheets) == 1 and all("!" in s for s in shown):
        shown = [shown[0]] + [s.rsplit("!", 1)[1] for s in shown[1:]]
    out = shown[0]
    for op, term in zip(operators, shown[1:]):
        out += f" {op} {term}"
    return out


@reference.per_folder(2)
def _documents() -> pd.DataFrame:
    return pd.read_csv(config.reference_dir() / "documents.csv", dtype=str, keep_default_na=False)


@reference.per_folder(2)
def _caveats() -> list[tuple[str, str, str]]:
    table = pd.read_csv(config.reference_dir() / "caveats.csv", dtype=str, keep_default_na=False)
    return [(fold(r.pattern), r.vi, r.en) for r in table.itertuples()]


def url_of(note: object) -> str:
    match = URL.search(note) if isinstance(note, str) else None
    return match.group(0).rstrip(".)") if match else ""


def caveats(note: object, lang: str) -> list[str]:
    """The parts of an observation's note that change the meaning of its figure, in the edition's language.

    Quotes, URLs and the trust of a source are not caveats (the citation carries them).

    >>> caveats("bài không ghi ngày, sau 2020: năm gán 2022 để đối chiếu; sản lượng mỗi năm", "en")
    ['Undated article (after 2020): the figure is assigned to 2022 for comparison.']
    >>> caveats("tháng 4/2022; \\"trên 8.620 ha\\"; news", "en"), caveats("tháng 4/2022", "vi")
    (['Figure as of April 2022.'], ['Số tại tháng 4/2022.'])
    >>> caveats("2012 = 2022 value 41,100 − printed increase 4,085 on 2012 (statuses: reported, reported)", "vi")
    ['Năm 2012 = số năm 2022 (41.100) trừ mức tăng so với 2012 in trong nguồn (4.085).']
    """
    if not isinstance(note, str) or not note:
        return []
    found = []
    derived = DERIVED_BASELINE.match(note)
    if derived:
        year, from_year, value, increase = derived.groups()
        found.append(
            labels.text(
                "notes",
                "derived_baseline",
                lang,
                year=year,
                from_year=from_year,
                value=labels.fmt_number(_plain(value), lang),
                increase=labels.fmt_number(_plain(increase), lang),
            )
        )
    regrouped = REAGGREGATED.match(note)
    if regrouped:
        clause, parts, others = regrouped.groups()
        parts = re.sub(
            r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?", lambda m: labels.fmt_number(_plain(m.group(0)), lang), parts
        )
        found.append(
            labels.text("notes", "reorganised", lang, clause=clause, parts=parts)
            + (" " + labels.text("notes", "part_only", lang, others=others) if others else "")
        )
    folded = fold(note)
    found += [vi if lang == "vi" else en for pattern, vi, en in _caveats() if pattern in folded]
    for month, year in MONTH.findall(note):
        found.append(labels.text("notes", "as_of_month", lang, year=year, month=labels.month_name(int(month), lang)))
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Document:
    """One cited document, its words resolved in one language."""

    key: str
    text: str  # issuer. title, date (no URL)
    url: str = ""
    short: str = ""  # a legend's few words


def _format_date(iso: str, lang: str) -> str:
    """``2022-04-15`` → ``15/4/2022`` / ``15 April 2022``; ``2021-07`` (a month) → ``tháng 7/2021`` / ``July 2021``.

    >>> _format_date("2021-07", "vi"), _format_date("2021-07", "en"), _format_date("2022-04-15", "vi")
    ('tháng 7/2021', 'July 2021', '15/4/2022')
    """
    parts = iso.split("-")
    if len(parts) == 3:
        y, m, d = (int(p) for p in parts)
        return f"{d}/{m}/{y}" if lang == "vi" else f"{d} {labels.month_name(m, lang)} {y}"
    if len(parts) == 2:
        y, m = (int(p) for p in parts)
        return f"tháng {m}/{y}" if lang == "vi" else f"{labels.month_name(m, lang)} {y}"
    return iso


@dataclass
class References:
    """The documents one report cites, numbered in the order they are first cited.

    ``sources`` is the processed ``sources.csv`` (source id, title, file, provenance fields).
    """

    sources: pd.DataFrame
    lang: str
    note_of: dict = field(default_factory=dict)  # (source_id, source_ref) → note: a derived value's inputs' pages
    numbers: dict[str, int] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    files: dict[str, set[str]] = field(default_factory=dict)  # document → the source ids cited from it
    _found: dict[tuple[str, str], Document] = field(default_factory=dict, repr=False)  # (source id, url) → document

    def url(self, source_id: str, ref: str = "", note: object = "") -> str:
        """The web page a value comes from: in its note, else in the notes of the inputs it was derived from."""
        found = url_of(note)
        if not found and isinstance(ref, str) and ref:
            inputs = [t.strip() for t in OPERATORS.split(ref)[0::2]]
            found = next((u for u in (url_of(self.note_of.get((source_id, t))) for t in inputs) if u), "")
        return found

    def document_of(self, source_id: str, ref: str = "", note: object = "") -> Document:
        key = (source_id, self.url(source_id, ref, note))
        if key not in self._found:  # a report cites a few documents many times
            self._found[key] = self._document(*key)
        return self._found[key]

    def _document(self, source_id: str, url: str) -> Document:
        docs = _documents()
        row = docs[docs["url"] == url] if url else docs.iloc[0:0]
        if row.empty:
            row = docs[docs["sources"].str.split().map(lambda ids: source_id in ids)]
        if not row.empty:
            return self._known(row.iloc[0], url)
        return self._from_record(source_id, url)

    def _known(self, row: pd.Series, url: str) -> Document:
        """``Issuer. Title (kind), date.``: who, what, what kind of document and when."""
        lang = self.lang
        title, kind = row[f"title_{lang}"], row[f"kind_{lang}"]
        key = "dated" if row["date"].count("-") == 2 else "dated_month"
        date = labels.text("cite", key, lang, date=_format_date(row["date"], lang)) if row["date"] else ""
        text = row[f"issuer_{lang}"]
        if title:
            text += f". {title}" + (f" ({kind})" if kind else "")
        elif kind:
            text += f", {kind}"
        text += f", {date}" if date else ""
        return Document(row["document"], text + ".", row["url"] or url, row[f"short_{lang}"])

    def _from_record(self, source_id: str, url: str) -> Document:
        """A source without an entry in documents.csv: its provenance record's words."""
        rec = self.sources[self.sources["source_id"] == source_id]
        if rec.empty:
            return Document(source_id, f"{source_id}.", url)
        r = rec.iloc[0]
        issuer = r.get("source", "") if isinstance(r.get("source", ""), str) else ""
        title = r.get("title", source_id)
        text = f"{title}." + (f" {issuer}." if issuer and issuer != title else "")
        record_url = r.get("url", "") if isinstance(r.get("url", ""), str) else ""
        return Document(
            f"source:{source_id}", text, url or (record_url if record_url.startswith("http") else ""), source_id
        )

    def number(self, source_id: str, ref: str = "", note: object = "") -> int:
        doc = self.document_of(source_id, ref, note)
        if doc.key not in self.numbers:
            self.numbers[doc.key] = len(self.numbers) + 1
            self.documents[doc.key] = doc
        self.files.setdefault(doc.key, set()).add(source_id)
        return self.numbers[doc.key]

    def label(self, source_id: str, source_ref: str, note: object = "") -> str:
        """``[1] 02_Che!D7``: the reference number, then the place inside the document."""
        where = labels.place_words(place(source_ref), self.lang)
        return f"[{self.number(source_id, source_ref, note)}] {where}".strip()

    def legend(self, source_id: str, ref: str = "", note: object = "") -> str:
        """``[1] Báo cáo 24-BC/HU``: a chart legend's name for a source."""
        number = self.number(source_id, ref, note)
        return f"[{number}] {self.document_of(source_id, ref, note).short}".strip()

    def citation(self, source_id: str, ref: str = "", note: object = "") -> str:
        """The document's full citation, for a download's source column."""
        number = self.number(source_id, ref, note)
        doc = self.document_of(source_id, ref, note)
        return f"[{number}] {doc.text}" + (f" {doc.url}" if doc.url else "")

    def entries(self) -> list[tuple[int, Document, str]]:
        """Every cited document with its number and the project's files it was read from."""
        out = []
        for key, number in sorted(self.numbers.items(), key=lambda kv: kv[1]):
            doc = self.documents[key]
            records = self.sources[self.sources["source_id"].isin(self.files.get(key, ()))]
            files = ", ".join(sorted(records["file"].dropna().astype(str))) if "file" in records else ""
            detail = labels.text("cite", "files", self.lang, files=files) if files else ""
            accessed = self._accessed(records)
            if doc.url and accessed:
                detail += ("; " if detail else "") + labels.text("cite", "accessed", self.lang, date=accessed)
            out.append((number, doc, detail))
        return out

    def _accessed(self, records: pd.DataFrame) -> str:
        if "accessed" not in records:
            return ""
        dates = sorted(d for d in records["accessed"].dropna().astype(str) if d)
        return _format_date(dates[-1], self.lang) if dates else ""
