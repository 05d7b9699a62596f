"""The documents' pictures: every image a document links exists, is a PNG of at most 150 KB with alt text, and
every PNG in docs/images/ is linked from somewhere; the README links the user guide."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
IMAGES = ROOT / "docs" / "images"
IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
MAX_BYTES = 150 * 1024


def _linked() -> list[tuple[Path, str, Path]]:
    """(document, alt text, image path) of every image a document shows."""
    found = []
    for doc in DOCS:
        for alt, target in IMAGE.findall(doc.read_text(encoding="utf-8")):
            if not re.match(r"^[a-z]+://", target):
                found.append((doc, alt, (doc.parent / target).resolve()))
    return found


@pytest.mark.parametrize(("doc", "alt", "image"), _linked(), ids=lambda v: v.name if isinstance(v, Path) else "")
def test_every_linked_image_exists_is_a_small_png_and_says_what_it_shows(doc: Path, alt: str, image: Path) -> None:
    assert image.is_file(), f"{doc.name} links {image.relative_to(ROOT)}, which does not exist"
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{image.name} is not a PNG"
    assert image.stat().st_size <= MAX_BYTES, f"{image.name} is {image.stat().st_size // 1024} KB"
    assert alt.strip(), f"{doc.name}: {image.name} has no alt text"


def test_the_user_guide_shows_the_console_and_every_picture_is_used() -> None:
    shown = {image for _, _, image in _linked()}
    guide = {image for doc, _, image in _linked() if doc.name == "user-guide.md"}
    assert {p.name for p in guide} >= {"console-marketplace.png", "console-audit.png"}
    unused = sorted(p.name for p in IMAGES.glob("*.png") if p.resolve() not in shown)
    assert not unused, f"docs/images/ holds pictures no document shows: {unused}"


def test_the_readme_links_the_user_guide() -> None:
    assert "](docs/user-guide.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
