"""Headless Chromium: the one place that finds it and prints HTML to PDF or PNG.

Every document (area report, maps, lägesbild, camera documentation, evaluation) is
printed the same way: the system Chromium (Debian package ``chromium``, or the
executable named by ``TRYGGKARTA_CHROMIUM``) runs headless with a fresh, throwaway
profile and its network services off (:data:`CHROMIUM_FLAGS`), opens the local HTML
file, lets the page's scripts run for a budget of virtual time, and writes the PDF or
PNG atomically (nothing half-written on failure).

Examples
--------
>>> "--headless" in CHROMIUM_FLAGS and "--disable-background-networking" in CHROMIUM_FLAGS
True
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Final

from geo.errors import AnalysisError, InputError

__all__ = [
    "CHROMIUM_FLAGS",
    "PNG_SIZE",
    "PDF_LANDSCAPE_SIZE",
    "find_chromium",
    "html_to_pdf",
    "html_to_png",
]

#: Flags for a headless, offline, throwaway Chromium.
CHROMIUM_FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
)
#: Window size of PNGs (CSS pixels).
PNG_SIZE: Final = (1400, 1000)
#: Window size for a PDF of a full-page map (A4 landscape at 96 dpi, CSS pixels).
PDF_LANDSCAPE_SIZE: Final = (1123, 794)

_CANDIDATES: Final = ("chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium")


def find_chromium(explicit: str | None = None) -> str:
    """The Chromium executable: ``explicit``, ``$TRYGGKARTA_CHROMIUM`` or on ``PATH``.

    Parameters
    ----------
    explicit : str, optional
        A name or path to try first.

    Returns
    -------
    str
        The absolute path of the executable.

    Raises
    ------
    AnalysisError
        When none is found (install the Debian package ``chromium``).
    """
    for cand in (explicit, os.environ.get("TRYGGKARTA_CHROMIUM"), *_CANDIDATES):
        if cand and (found := shutil.which(cand)):
            return found
    raise AnalysisError("Chromium is needed to print documents and maps and was not found: "
                        "install the Debian package 'chromium' or set TRYGGKARTA_CHROMIUM "
                        "to its path")


def _run(html_path: str | Path, target: str | Path, *, kind: str, size: tuple[int, int] | None,
         budget_ms: int, chromium: str | None, timeout_s: float) -> Path:
    from geo.io import atomic_path

    exe = find_chromium(chromium)
    src = Path(html_path).resolve()
    if not src.is_file():
        raise InputError.single(str(html_path), "no such file")
    out = Path(target)
    with tempfile.TemporaryDirectory(prefix="tryggkarta-chromium-") as profile, \
            atomic_path(out) as tmp:
        flag = (f"--screenshot={Path(tmp).resolve()}" if kind == "png"
                else f"--print-to-pdf={Path(tmp).resolve()}")
        cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
               f"--virtual-time-budget={int(budget_ms)}", "--no-pdf-header-footer"]
        if size is not None:
            cmd.append(f"--window-size={size[0]},{size[1]}")
        cmd += [flag, src.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                                  stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            raise AnalysisError(f"Chromium took more than {timeout_s:g} s to print "
                                f"{src.name} to {out.name}") from None
        if not Path(tmp).exists() or Path(tmp).stat().st_size == 0:
            tail = (proc.stderr or "").strip().splitlines()[-3:]
            raise AnalysisError(f"Chromium did not write {out.name} (exit "
                                f"{proc.returncode}): " + " | ".join(tail))
    return out


def html_to_pdf(html_path: str | Path, pdf_path: str | Path, *, size: tuple[int, int] | None = None,
                budget_ms: int = 5000, chromium: str | None = None,
                timeout_s: float = 180.0) -> Path:
    """Print an HTML file to PDF with headless Chromium, offline, atomically.

    The page's own ``@page`` rule sets paper size and margins (the document templates
    ask for A4; maps for A4 landscape).

    Parameters
    ----------
    html_path : str or Path
        A local HTML file.
    pdf_path : str or Path
        The PDF to write.
    size : (int, int), optional
        Window size in CSS pixels for the layout (maps: :data:`PDF_LANDSCAPE_SIZE`).
    budget_ms : int
        Virtual time (ms) the page's scripts get before printing.
    chromium : str, optional
        The executable (default: :func:`find_chromium`).
    timeout_s : float
        Wall-clock limit (s).

    Returns
    -------
    Path
        ``pdf_path``.

    Raises
    ------
    AnalysisError
        Chromium missing, failing, or writing no PDF.
    InputError
        ``html_path`` does not exist.
    """
    return _run(html_path, pdf_path, kind="pdf", size=size, budget_ms=budget_ms,
                chromium=chromium, timeout_s=timeout_s)


def html_to_png(html_path: str | Path, png_path: str | Path, *,
                size: tuple[int, int] = PNG_SIZE, budget_ms: int = 8000,
                chromium: str | None = None, timeout_s: float = 120.0) -> Path:
    """Render an HTML file to a PNG screenshot with headless Chromium, atomically.

    Parameters
    ----------
    html_path : str or Path
        A local HTML file.
    png_path : str or Path
        The PNG to write.
    size : (int, int)
        Width and height in CSS pixels (default 1400 × 1000).
    budget_ms : int
        Virtual time (ms) the page's scripts get before the screenshot.
    chromium : str, optional
        The executable (default: :func:`find_chromium`).
    timeout_s : float
        Wall-clock limit (s).

    Returns
    -------
    Path
        ``png_path``.

    Raises
    ------
    AnalysisError
        Chromium missing, failing, or writing no PNG.
    InputError
        ``html_path`` does not exist.
    """
    return _run(html_path, png_path, kind="png", size=size, budget_ms=budget_ms,
                chromium=chromium, timeout_s=timeout_s)
