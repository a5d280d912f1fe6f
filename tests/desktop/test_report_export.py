"""desktop/report_export.py: a report's CSV is its table with stable bytes, and its PDF is a real PDF (read back
with Qt's own PDF reader, QtPdf) whose pages each carry the title and the column header, with as many pages as
the rows need."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtPdf import QPdfDocument

from desktop.report_export import Column, Report, csv_bytes, write_csv, write_pdf

COLUMNS = (Column("Account"), Column("Site"), Column("Debit", numeric=True), Column("Credit", numeric=True))


def report(rows: int, title: str = "Trial balance") -> Report:
    body = tuple((f"{1000 + n}", "s1" if n % 2 else "north, \"pit\" 2", f"{n}.50", "0.00") for n in range(rows))
    return Report(title, COLUMNS, body, totals=("Total", "", f"{sum(n + 0.5 for n in range(rows)):.2f}", "0.00"),
                  subtitle="as of 2026-11-30, by site")


def test_csv_is_the_table_with_quoting_and_crlf_and_the_same_bytes_every_time(tmp_path: Path) -> None:
    r = report(2)
    assert csv_bytes(r) == (b"Account,Site,Debit,Credit\r\n"
                            b"1000,\"north, \"\"pit\"\" 2\",0.50,0.00\r\n"
                            b"1001,s1,1.50,0.00\r\n"
                            b"Total,,2.00,0.00\r\n")
    first = write_csv(r, tmp_path / "tb.csv").read_bytes()
    again = write_csv(report(2), tmp_path / "tb.csv").read_bytes()
    assert first == again == csv_bytes(r) and not list(tmp_path.glob("*.partial"))
    assert csv_bytes(Report("Empty", COLUMNS, ())) == b"Account,Site,Debit,Credit\r\n"


def test_a_row_with_the_wrong_number_of_cells_is_refused() -> None:
    with pytest.raises(ValueError, match="row 1 of 'Bad' has 3 cells for 4 columns"):
        Report("Bad", COLUMNS, (("1400", "s1", "1.00"),))


def pdf_pages(path: Path) -> list[str]:
    doc = QPdfDocument()
    assert doc.load(str(path)) == QPdfDocument.Error.None_, doc.error()
    try:
        return [doc.getAllText(n).text() for n in range(doc.pageCount())]
    finally:
        doc.close()


def test_a_short_report_is_one_pdf_page_with_title_header_rows_and_totals(qapp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "tb.pdf"
    assert write_pdf(report(3), path) == 1
    assert path.read_bytes().startswith(b"%PDF-")
    [text] = pdf_pages(path)
    for words in ("Trial balance", "as of 2026-11-30, by site", "Account", "Credit", "1002", "2.50", "Total", "4.50",
                  "page 1 of 1"):
        assert words in text, words


def test_a_long_report_runs_over_pages_each_with_the_title_and_column_header(qapp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "gl.pdf"
    pages = write_pdf(report(400, "General ledger 1400"), path)
    assert pages > 3
    texts = pdf_pages(path)
    assert len(texts) == pages
    for n, text in enumerate(texts, 1):
        assert "General ledger 1400" in text and "Account" in text and "Debit" in text, n
        assert f"page {n} of {pages}" in text
    # Every row once, in order; the totals after the last row, on the last page.
    accounts = [t for t in " ".join(texts).split() if t.isdigit() and 1000 <= int(t) < 1400]
    assert accounts == [str(1000 + n) for n in range(400)]
    assert "Total" in texts[-1] and all("Total" not in t for t in texts[:-1])
    # More rows, more pages; a wide report turns the page (fewer rows fit on a landscape page).
    assert write_pdf(report(800), tmp_path / "more.pdf") > pages
    wide = Report("Wide", tuple(Column(f"C{i}") for i in range(8)), tuple(tuple("x" * 8) for _ in range(400)))
    assert write_pdf(wide, tmp_path / "wide.pdf") > pages
