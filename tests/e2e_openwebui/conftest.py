"""The Open WebUI check's fixtures: a fresh newsrag store of the example articles served by
`rag serve`, Open WebUI (its own venv, `make openwebui-install`) connected to it on a fresh data
directory, and Debian's Chromium driven by Playwright. Too heavy for `make test`: these tests
carry the `openwebui` marker, which the default options deselect (`make e2e-openwebui`)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, sync_playwright

from e2e.browser import CHROMIUM, CHROMIUM_FLAGS, DESKTOP
from e2e_openwebui.launch import OPENWEBUI, RAG, Stack, StartError, newsrag, openwebui
from processes import free_port, rag_env
from support import EXAMPLES

INDEX_SECONDS = 300


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without Chromium or Open WebUI the tests here skip, saying which is missing."""
    here = Path(__file__).parent
    missing = [f"{what} is not installed at {path}" for what, path in
               (("Debian's chromium", CHROMIUM), ("Open WebUI", OPENWEBUI)) if not path.exists()]
    if not missing:
        return
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.skip(reason="; ".join(missing)))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """newsrag over a fresh store of examples/articles, and Open WebUI on a fresh data
    directory with it as its connection; both on free 127.0.0.1 ports, stopped at the end."""
    folder = tmp_path_factory.mktemp("openwebui-stack")
    data = folder / "newsrag"
    subprocess.run([str(RAG), "index", str(EXAMPLES)], env=rag_env(data), cwd=folder,
                   check=True, capture_output=True, timeout=INDEX_SECONDS)
    try:
        with newsrag(free_port(), folder, rag_env(data), folder) as news, \
                openwebui(free_port(), news.url, folder, folder / "openwebui") as ui:
            yield Stack(news.url, ui.url)
    except StartError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Debian's headless Chromium on a fresh profile, light mode, desktop size."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM),
            headless=True, args=CHROMIUM_FLAGS, viewport=DESKTOP, color_scheme="light",
            locale="en-US", timezone_id="UTC", reduced_motion="reduce")
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()
