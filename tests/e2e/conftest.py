"""Browser fixtures: the real app under uvicorn on 127.0.0.1 over a fresh store of the sample
corpus, and Debian's Chromium (/usr/bin/chromium) driven by Playwright.

Playwright never downloads a browser here: it is pointed at Debian's build with the flags that
work on these machines (no sandbox as root, nothing that phones home) and a fresh profile.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import BrowserContext, sync_playwright

from api.app import create_app
from api.services import Services
from e2e.browser import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    DESKTOP,
    SCREENSHOTS,
    STARTUP_SECONDS,
    BrowserPage,
    LiveServer,
    new_tab,
)
from rag.embeddings import Encoder
from support import EXAMPLES, make_services


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder needs Chromium; without it they skip and say why."""
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"Debian's chromium is not installed at {CHROMIUM} "
                                   "(`make test` installs it: apt-get install chromium)")
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the page's screenshots go: the README's (docs/screenshots/) when
    `NEWSRAG_WRITE_SCREENSHOTS=1` (`make screenshots`), else a folder of the run's, so a test
    run leaves the README's pictures as they are."""
    if os.environ.get("NEWSRAG_WRITE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="session")
def e2e_services(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Services:
    """A fresh store holding examples/articles only, so answers and screenshots are stable."""
    services = make_services(tmp_path_factory.mktemp("e2e-store"), encoder)
    services.ingestor.ingest_paths([EXAMPLES])
    return services


@pytest.fixture(scope="session")
def live_server(e2e_services: Services) -> Iterator[LiveServer]:
    """The real app served by uvicorn on a free loopback port, in a background thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # the port is chosen and held at once: no race for it
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(services=e2e_services), log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="e2e-uvicorn")
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            pytest.fail(f"the server did not start within {STARTUP_SECONDS} s")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", e2e_services)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """One headless Debian Chromium for the session, on a fresh, empty profile."""
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM}")
    with sync_playwright() as playwright:
        # launch_persistent_context is how Playwright takes a --user-data-dir of our choosing.
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport=DESKTOP,
            color_scheme="light",
            locale="en-US",
            timezone_id="UTC",
            reduced_motion="reduce",
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def browser_page(browser_context: BrowserContext, live_server: LiveServer) -> Iterator[BrowserPage]:
    with new_tab(browser_context, live_server.url) as tab:
        yield tab
