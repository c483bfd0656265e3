"""The docs site as a person sees it: built strictly with Sphinx, its start page and a how-to
page opened in a real headless Chromium, their DOM checked for the navigation, code blocks and
tables, and a screenshot of each checked for a page that is drawn (not blank, not cut)."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from ..support.helpers import CHROMIUM_FLAGS, chromium

pytest.importorskip("sphinx", reason="the docs extra is in the test extras")
pytest.importorskip("furo")

ROOT = Path(__file__).parents[2]
WIDTH, HEIGHT = 1280, 900


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built with warnings as errors (the build rewrites the generated reference
    pages when they are stale: tests/unit/test_docs.py fails then, too)."""
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(ROOT / "docs"),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    return out


def browse(page: Path, tmp_path: Path, *what: str) -> str:
    profile = tmp_path / f"profile-{page.stem}"
    shown = subprocess.run(
        [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={WIDTH},{HEIGHT}",
            *what,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    return shown.stdout


def png_rows(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the (filtered) scanlines of an 8-bit RGB(A) PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, color = struct.unpack(">IIBB", data[16:26])
    assert depth == 8
    assert color in (2, 6)
    chunks, offset = b"", 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        if kind == b"IDAT":
            chunks += data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    raw = zlib.decompress(chunks)
    stride = 1 + width * (3 if color == 2 else 4)
    return width, height, [raw[i : i + stride] for i in range(0, len(raw), stride)]


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("index.html", ['class="sidebar-tree"', "<table", 'class="highlight']),
        ("howto/ci.html", ['class="sidebar-tree"', 'class="highlight', "LIVECHAT_REFRESH_TOKEN"]),
        ("reference/options.html", ['class="sidebar-tree"', "<table", "--livechat-client-id"]),
    ],
)
def test_a_page_as_a_browser_shows_it(
    site: Path, tmp_path: Path, page: str, expected: list[str]
) -> None:
    dom = browse(site / page, tmp_path, "--dump-dom")
    for mark in expected:
        assert mark in dom, mark
    for section in ("Tutorial", "How-to guides", "Reference", "Explanation"):
        assert section in dom, f"the navigation lists {section}"
    screenshot = tmp_path / "screenshot.png"
    browse(site / page, tmp_path, f"--screenshot={screenshot}")
    width, height, rows = png_rows(screenshot)
    assert (width, height) == (WIDTH, HEIGHT)
    assert len(set(rows)) > HEIGHT // 4, "a drawn page: most rows differ (text, code, tables)"


OVERFLOW = """<script>
document.body.setAttribute("data-overflowing", [...document.querySelectorAll("pre")]
  .filter((block) => block.scrollWidth > block.clientWidth).length);
</script></body>"""


def test_the_index_quick_start_does_not_overflow_sideways(site: Path, tmp_path: Path) -> None:
    """Its code blocks fit the page's column as a browser lays it out (a script counts the
    blocks wider than their box)."""
    page = site / "index.html"
    measured = page.with_name("index-measured.html")
    measured.write_text(page.read_text().replace("</body>", OVERFLOW, 1))
    dom = browse(measured, tmp_path, "--dump-dom")
    assert 'data-overflowing="0"' in dom
