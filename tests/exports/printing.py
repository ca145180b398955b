"""Print a workbook as a registrar does: LibreOffice Calc (headless) → PDF, read back with poppler.

Needs Debian's ``libreoffice-calc-nogui`` and ``poppler-utils`` (.ci/run installs them). Without them the
print checks skip locally and fail when CI_REQUIRE_SERVICES=1.
"""
from __future__ import annotations

import html as html_lib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFTOTEXT = shutil.which("pdftotext")
PDFINFO = shutil.which("pdfinfo")
NEEDS = "needs LibreOffice Calc (soffice) and poppler-utils (pdftotext, pdfinfo): " \
        "apt-get install libreoffice-calc-nogui poppler-utils"
A4_PT = (595, 842)


HAVE_PRINT_TOOLS = bool(SOFFICE and PDFTOTEXT and PDFINFO)
REQUIRED = bool(os.environ.get("CI_REQUIRE_SERVICES"))
# the print-check modules use this mark like the other service-bound tests: skipped on a laptop without the
# tools, never in CI (CI_REQUIRE_SERVICES=1), where require_print_tools() fails instead
NEEDS_PRINT_TOOLS = pytest.mark.skipif(not HAVE_PRINT_TOOLS and not REQUIRED, reason=f"the print check {NEEDS}")


def require_print_tools() -> None:
    """In CI (CI_REQUIRE_SERVICES=1) missing tools fail the run (the module's skipif mark never applies there)."""
    if not HAVE_PRINT_TOOLS:
        pytest.fail(f"CI_REQUIRE_SERVICES is set but the print check {NEEDS}")


def to_pdf(xlsx: Path, workdir: Path) -> Path:
    """Convert one workbook with a private LibreOffice profile (parallel runs must not share one)."""
    profile = workdir / "lo-profile"
    out = workdir / "pdf"
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(out), str(xlsx)],
        check=True, capture_output=True, timeout=180, env={**os.environ, "HOME": str(workdir)},
    )
    pdf = out / (xlsx.stem + ".pdf")
    assert pdf.is_file(), f"LibreOffice wrote no PDF for {xlsx.name}"
    return pdf


def pdf_pages(pdf: Path) -> tuple[int, tuple[float, float]]:
    """(page count, page size in points) as pdfinfo reports them."""
    info = subprocess.run([PDFINFO, str(pdf)], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    w, h = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", info, re.M).groups()
    return pages, (float(w), float(h))


def pdf_text(pdf: Path) -> str:
    """The printed text with every whitespace removed (a cell may break a name over lines)."""
    text = subprocess.run([PDFTOTEXT, "-raw", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    return re.sub(r"\s+", "", text)


def pdf_words(pdf: Path) -> list[tuple[float, float, float, float, str]]:
    """(xMin, yMin, xMax, yMax, word) of every printed word (pdftotext -bbox)."""
    html = subprocess.run([PDFTOTEXT, "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return [(float(a), float(b), float(c), float(d), html_lib.unescape(w)) for a, b, c, d, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', html)]


def overlapping_words(pdf: Path, slack: float = 1.0) -> list[tuple[str, str]]:
    """Pairs of words printed over each other: what a wrapped cell in a too-short row does — its lines
    run into the next row (the spreadsheet clips them at the cell border, but the text is still drawn)."""
    words = pdf_words(pdf)
    clashes = []
    for i, (x0, y0, x1, y1, w) in enumerate(words):
        for a0, b0, a1, b1, v in words[i + 1:]:
            if min(x1, a1) - max(x0, a0) > slack and min(y1, b1) - max(y0, b0) > slack:
                clashes.append((w, v))
    return clashes


def assert_printed_cleanly(pdf: Path) -> None:
    """One A4 page, no text printed over other text."""
    assert_one_a4_page(pdf)
    clashes = overlapping_words(pdf)
    assert not clashes, f"{pdf.name}: text printed over other text (a row too short for its wrapped text): {clashes}"


def assert_one_a4_page(pdf: Path) -> None:
    pages, (w, h) = pdf_pages(pdf)
    assert pages == 1, f"{pdf.name} prints on {pages} pages"
    assert abs(w - A4_PT[0]) < 2 and abs(h - A4_PT[1]) < 2, f"{pdf.name} is not A4 portrait: {w}×{h} pt"
