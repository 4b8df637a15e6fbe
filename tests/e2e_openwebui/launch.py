"""Starts newsrag and Open WebUI side by side on 127.0.0.1, Open WebUI offline with newsrag as its
one OpenAI-compatible connection (docs/integrations.md, "Open WebUI"); `make openwebui` runs it
until interrupted, and the browser check uses it to start and stop both."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
RAG = ROOT / ".venv" / "bin" / "rag"
OPENWEBUI_HOME = ROOT / "var" / "openwebui"
OPENWEBUI = OPENWEBUI_HOME / ".venv" / "bin" / "open-webui"
# Bounds, not expectations: Open WebUI's first start migrates its database.
NEWSRAG_START_SECONDS = 120.0
OPENWEBUI_START_SECONDS = 300.0
STOP_SECONDS = 20.0


class StartError(RuntimeError):
    """A server exited or did not answer in time; the message ends with its log's tail."""


@dataclass
class Running:
    name: str
    url: str
    process: subprocess.Popen
    log: Path

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        """SIGTERM to the server's process group, then SIGKILL if it outlives STOP_SECONDS."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_SECONDS)


@dataclass
class Stack:
    """Both servers' base URLs."""

    newsrag_url: str
    openwebui_url: str


def openwebui_env(newsrag_url: str, data_dir: Path, api_key: str | None = None) -> dict[str, str]:
    """Open WebUI's environment: newsrag (`<url>/v1`) its only connection, no Ollama, no sign-in,
    offline, and every feature that would embed, retrieve, search the web or ask the model
    for titles, tags or follow-ups switched off (newsrag retrieves and cites)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OPENAI_"))}
    env.update({
        "DATA_DIR": str(data_dir),
        "WEBUI_AUTH": "False",
        "WEBUI_SECRET_KEY": "newsrag-local-only",  # signs the local, sign-in-free session
        "ENABLE_PERSISTENT_CONFIG": "False",  # these variables win over a saved configuration
        "ENABLE_OLLAMA_API": "False",
        "ENABLE_OPENAI_API": "True",
        "OPENAI_API_BASE_URL": f"{newsrag_url}/v1",
        "OPENAI_API_KEY": api_key or "unused",
        "DEFAULT_MODELS": "newsrag",
        "OFFLINE_MODE": "True",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "BYPASS_EMBEDDING_AND_RETRIEVAL": "True",
        "RAG_EMBEDDING_ENGINE": "",
        "RAG_EMBEDDING_MODEL": "",  # no sentence-transformers model is loaded
        "ENABLE_RAG_HYBRID_SEARCH": "False",
        "ENABLE_WEB_SEARCH": "False",
        "ENABLE_RETRIEVAL_QUERY_GENERATION": "False",
        "ENABLE_SEARCH_QUERY_GENERATION": "False",
        "ENABLE_TITLE_GENERATION": "False",
        "ENABLE_TAGS_GENERATION": "False",
        "ENABLE_FOLLOW_UP_GENERATION": "False",
        "ENABLE_AUTOCOMPLETE_GENERATION": "False",
        "ENABLE_CODE_INTERPRETER": "False",
        "ENABLE_IMAGE_GENERATION": "False",
        "ENABLE_VERSION_UPDATE_CHECK": "False",
        "ANONYMIZED_TELEMETRY": "False",
        "DO_NOT_TRACK": "true",
        "SCARF_NO_ANALYTICS": "true",
    })
    return env


def _wait(running: Running, path: str, seconds: float) -> Running:
    """`running` once GET `path` answers 200; StartError if it exits or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while True:
        if running.process.poll() is not None:
            raise StartError(f"{running.name} exited with {running.process.returncode}\n"
                             f"{running.log_tail()}")
        try:
            if httpx.get(running.url + path, timeout=5).status_code == 200:
                return running
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise StartError(f"{running.name} did not answer {path} within {seconds:.0f} s\n"
                             f"{running.log_tail()}")
        time.sleep(0.5)


def _start(name: str, command: list[str], env: dict[str, str], cwd: Path, log: Path,
           url: str) -> Running:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                   start_new_session=True)  # its own group: stopped whole
    return Running(name, url, process, log)


@contextmanager
def newsrag(port: int, logs: Path, env: dict[str, str] | None = None,
            cwd: Path = ROOT) -> Iterator[Running]:
    """`rag serve` on 127.0.0.1:`port` in `env` (else this process's, offline) and `cwd` (where
    it reads a .env file), ready when yielded, stopped on leaving."""
    env = env or dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                      ANONYMIZED_TELEMETRY="False")
    running = _start("newsrag", [str(RAG), "serve", "--host", "127.0.0.1", "--port", str(port)],
                     env, cwd, logs / "newsrag.log", f"http://127.0.0.1:{port}")
    try:
        yield _wait(running, "/readyz", NEWSRAG_START_SECONDS)
    finally:
        running.stop()


@contextmanager
def openwebui(port: int, newsrag_url: str, logs: Path, data_dir: Path,
              api_key: str | None = None) -> Iterator[Running]:
    """Open WebUI on 127.0.0.1:`port` with newsrag as its connection, ready when yielded,
    stopped on leaving. StartError when it is not installed (`make openwebui-install`)."""
    if not OPENWEBUI.exists():
        raise StartError(f"Open WebUI is not installed at {OPENWEBUI}: "
                         "run `make openwebui-install`")
    data_dir.mkdir(parents=True, exist_ok=True)
    env = openwebui_env(newsrag_url, data_dir, api_key)
    # Its pages, and so its socket's origin, are its own address, by either name.
    env["CORS_ALLOW_ORIGIN"] = f"http://127.0.0.1:{port};http://localhost:{port}"
    running = _start("Open WebUI",
                     [str(OPENWEBUI), "serve", "--host", "127.0.0.1", "--port", str(port)],
                     env, data_dir, logs / "openwebui.log", f"http://127.0.0.1:{port}")
    try:
        yield _wait(running, "/health", OPENWEBUI_START_SECONDS)
    finally:
        running.stop()


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops both servers as Ctrl-C does."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """`make openwebui`: both servers until Ctrl-C or SIGTERM; 1 when one fails to start."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000, help="newsrag's port")
    parser.add_argument("--openwebui-port", type=int, default=8080, help="Open WebUI's port")
    args = parser.parse_args(argv)
    logs = OPENWEBUI_HOME / "logs"
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with ExitStack() as stack:
            news = stack.enter_context(newsrag(args.port, logs))
            print(f"newsrag: {news.url} (log {news.log})", flush=True)
            ui = stack.enter_context(openwebui(args.openwebui_port, news.url, logs,
                                               OPENWEBUI_HOME / "data",
                                               os.environ.get("RAG_API_KEY")))
            print(f"Open WebUI: {ui.url} (log {ui.log}); Ctrl-C stops both", flush=True)
            while news.process.poll() is None and ui.process.poll() is None:
                time.sleep(1)
            print("a server stopped; stopping the other", file=sys.stderr)
            return 1
    except StartError as error:
        print(f"openwebui: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
