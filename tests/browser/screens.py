"""Screenshots of a page at the widths people use, for tests that look at what they build."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def shoot(page: Page, folder: Path, name: str) -> list[str]:
    """Screenshots at desktop and phone widths (``<name>-desktop.png``, ``<name>-phone.png``
    in ``folder``); the widths at which the page scrolls sideways."""
    overflowing = []
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        if page.evaluate("document.documentElement.scrollWidth") > viewport["width"]:
            overflowing.append(f"{name} at {label}")
        page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    return overflowing
