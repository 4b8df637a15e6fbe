"""What the browser tests share: where Chromium is, the flags it needs on these machines, the
viewports, and the objects the fixtures hand to tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import BrowserContext, Dialog, Page

from api.services import Services

CHROMIUM = Path("/usr/bin/chromium")
# --headless and friends: without the background-networking flags Chromium keeps trying to reach
# Google's hosts, which this machine's closed network refuses.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_SECONDS = 30
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@dataclass
class LiveServer:
    url: str
    services: Services


@dataclass
class BrowserPage:
    """A fresh tab, with every dialog and script error it raised recorded for the test."""

    page: Page
    base_url: str
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: str = "/") -> None:
        self.page.goto(self.base_url + path)



@contextmanager
def new_tab(context: BrowserContext, base_url: str) -> Iterator[BrowserPage]:
    """A fresh tab on `base_url` at the desktop size in light mode, recording every dialog
    (dismissed) and script error; closed at the end."""
    page = context.new_page()
    page.set_viewport_size(DESKTOP)
    page.emulate_media(color_scheme="light")
    tab = BrowserPage(page, base_url)

    def on_dialog(dialog: Dialog) -> None:
        tab.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: tab.errors.append(f"page error: {error}"))
    page.on("console", lambda message: tab.errors.append(f"console: {message.text}")
            if message.type == "error" else None)
    try:
        yield tab
    finally:
        page.close()
