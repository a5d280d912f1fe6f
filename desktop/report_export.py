"""A report as a file: CSV (the table, stable bytes: the same report gives the same file) and PDF (drawn with
Qt's own PDF writer, offline, no extra dependency: A4, landscape when the table is wide, the title and the
column header repeated on every page, "page n of m" on each, totals after the last row).

A report is what a screen shows: its title, a line saying what it covers (date, account, filters), columns,
rows of display text and an optional totals row. Amounts arrive already written (Decimal text), so the file
shows exactly the figures on the screen."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPageLayout, QPageSize, QPainter, QPdfWriter

WIDE = 6  # more columns than this: landscape
RESOLUTION = 1200  # at 300 dpi glyph positions round so coarsely that a PDF reader splits words into letters


@dataclass(frozen=True)
class Column:
    label: str
    numeric: bool = False  # right-aligned in the PDF


@dataclass(frozen=True)
class Report:
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    totals: tuple[str, ...] | None = None
    subtitle: str = ""

    def __post_init__(self) -> None:
        width = len(self.columns)
        for n, row in enumerate((*self.rows, *([self.totals] if self.totals else [])), 1):
            if len(row) != width:
                raise ValueError(f"row {n} of {self.title!r} has {len(row)} cells for {width} columns")


def csv_bytes(report: Report) -> bytes:
    """The header, the rows, the totals row; UTF-8, CRLF line ends (RFC 4180), minimal quoting. The title and
    subtitle go in the file name, not the table, so the file opens as one clean table (D47)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.label for c in report.columns])
    writer.writerows(report.rows)
    if report.totals:
        writer.writerow(report.totals)
    return buffer.getvalue().encode("utf-8")


def _replace(path: Path, data: bytes) -> Path:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)  # never a half-written report where the last one was
    return path


def write_csv(report: Report, path: Path) -> Path:
    return _replace(path, csv_bytes(report))


class _Layout:
    """Where things go on a page, in the writer's device units."""

    def __init__(self, writer: QPdfWriter, report: Report, painter: QPainter) -> None:
        self.body, self.bold, self.heading = QFont("DejaVu Sans", 8), QFont("DejaVu Sans", 8), QFont("DejaVu Sans", 12)
        self.bold.setBold(True)
        self.heading.setBold(True)
        painter.setFont(self.body)
        body = QFontMetrics(self.body, writer)
        self.width, self.height = writer.width(), writer.height()
        self.line = int(body.height() * 1.35)
        self.pad = body.horizontalAdvance("  ")
        self.heading_line = int(QFontMetrics(self.heading, writer).height() * 1.3)
        self.top = self.heading_line + (self.line if report.subtitle else 0) + self.line // 2
        self.rows_top = self.top + self.line  # under the column header
        self.per_page = max(1, (self.height - self.rows_top - 2 * self.line) // self.line)
        # Columns in proportion to their widest text, header included, scaled to the page.
        bold = QFontMetrics(self.bold, writer)
        wanted = [max([bold.horizontalAdvance(c.label)] + [body.horizontalAdvance(r[i]) for r in report.rows]
                      + ([bold.horizontalAdvance(report.totals[i])] if report.totals else [])) + 2 * self.pad
                  for i, c in enumerate(report.columns)]
        scale = min(1.0, self.width / max(1, sum(wanted)))
        self.x = [0]
        for w in wanted:
            self.x.append(self.x[-1] + int(w * scale))
        self.metrics = body


def _cells(painter: QPainter, lay: _Layout, report: Report, y: int, cells: tuple[str, ...]) -> None:
    for i, (col, text) in enumerate(zip(report.columns, cells, strict=True)):
        box = QRect(lay.x[i] + lay.pad, y, lay.x[i + 1] - lay.x[i] - 2 * lay.pad, lay.line)
        shown = lay.metrics.elidedText(text, Qt.TextElideMode.ElideRight, box.width())
        align = Qt.AlignmentFlag.AlignRight if col.numeric else Qt.AlignmentFlag.AlignLeft
        painter.drawText(box, int(align | Qt.AlignmentFlag.AlignVCenter), shown)


def _page_head(painter: QPainter, lay: _Layout, report: Report, page: int, pages: int) -> None:
    painter.setFont(lay.heading)
    painter.drawText(QRect(0, 0, lay.width, lay.heading_line), int(Qt.AlignmentFlag.AlignLeft), report.title)
    painter.setFont(lay.body)
    painter.drawText(QRect(0, lay.height - lay.line, lay.width, lay.line), int(Qt.AlignmentFlag.AlignRight),
                     f"page {page} of {pages}")
    if report.subtitle:
        painter.drawText(QRect(0, lay.heading_line, lay.width, lay.line), int(Qt.AlignmentFlag.AlignLeft),
                         report.subtitle)
    painter.setFont(lay.bold)
    _cells(painter, lay, report, lay.top, tuple(c.label for c in report.columns))
    painter.drawLine(0, lay.rows_top, lay.x[-1], lay.rows_top)
    painter.setFont(lay.body)


def _pages(report: Report, lay: _Layout) -> int:
    return max(1, math.ceil((len(report.rows) + (1 if report.totals else 0)) / lay.per_page))


def write_pdf(report: Report, path: Path) -> int:
    """Write the report as a PDF at `path` (replaced whole); returns the number of pages."""
    partial = path.with_name(path.name + ".partial")
    writer = QPdfWriter(str(partial))
    writer.setTitle(report.title)
    writer.setCreator("Pitline")
    writer.setResolution(RESOLUTION)
    orientation = QPageLayout.Orientation.Landscape if len(report.columns) > WIDE else QPageLayout.Orientation.Portrait
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), orientation, QMarginsF(12, 12, 12, 12),
                                     QPageLayout.Unit.Millimeter))
    painter = QPainter(writer)
    try:
        lay = _Layout(writer, report, painter)
        pages = _pages(report, lay)
        lines = [(row, False) for row in report.rows] + ([(report.totals, True)] if report.totals else [])
        for page in range(pages):
            if page:
                writer.newPage()
            _page_head(painter, lay, report, page + 1, pages)
            for n, (cells, total) in enumerate(lines[page * lay.per_page:(page + 1) * lay.per_page]):
                y = lay.rows_top + n * lay.line
                if total:
                    painter.setFont(lay.bold)
                    painter.drawLine(0, y, lay.x[-1], y)
                _cells(painter, lay, report, y, cells)
    finally:
        painter.end()
    partial.replace(path)
    return pages
