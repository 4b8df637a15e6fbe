"""Real `rag` processes for the tests: a server on a free loopback port, and commands run beside
it with their own data directory and settings (never the project's .env file)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from support import ROOT

RAG = ROOT / ".venv" / "bin" / "rag"
CHROMA = ROOT / ".venv" / "bin" / "chroma"
# Bounds, not expectations: how long a test waits for a server to start.
START_SECONDS = 90.0
CHROMA_START_SECONDS = 30.0


def rag_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a `rag` process: offline, this data dir, these RAG_ settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RAG_") and k != "OPENAI_API_KEY"}
    env.update({"RAG_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
                **{f"RAG_{name.upper()}": value for name, value in settings.items()}})
    return env


@dataclass
class Server:
    url: str
    port: int
    data_dir: Path
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(folder: Path, **settings: str) -> Iterator[Server]:
    """`rag serve` on a free 127.0.0.1 port with its own data dir (`folder`/data) and these
    RAG_ settings, ready when yielded, stopped on leaving."""
    folder.mkdir(parents=True, exist_ok=True)
    env = rag_env(folder / "data", **settings)
    port, log = free_port(), folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(RAG), "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=folder,  # cwd: no project .env file is read
        )
    server = Server(f"http://127.0.0.1:{port}", port, folder / "data", process, log)
    try:
        wait_ready(server, ready, START_SECONDS, "rag serve")
        yield server
    finally:
        server.stop()


def wait_ready(server: Server, answers: Callable[[Server], bool], seconds: float,
               what: str) -> None:
    """Poll `answers` every 0.2 s until it is true; fail with the log's tail when the process
    ends or `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while not answers(server):
        if server.process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what} did not become ready\n{server.log_tail()}")
        time.sleep(0.2)


def ready(server: Server) -> bool:
    try:
        return httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def chroma_servers(folder: Path, count: int = 1) -> Iterator[list[str]]:
    """`count` `chroma run` servers on free 127.0.0.1 ports, each with its own data under
    `folder`, their URLs yielded once each answers its heartbeat; all stopped on leaving."""
    started: list[Server] = []
    try:
        for number in range(count):
            port, log = free_port(), folder / f"chroma-{number}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [str(CHROMA), "run", "--path", str(folder / f"data-{number}"), "--host",
                     "127.0.0.1", "--port", str(port)],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
            server = Server(f"http://127.0.0.1:{port}", port, folder, process, log)
            started.append(server)
            wait_ready(server, _beating, CHROMA_START_SECONDS, "chroma run")
        yield [server.url for server in started]
    finally:
        for server in started:
            server.stop()


def _beating(server: Server) -> bool:
    try:
        return httpx.get(f"{server.url}/api/v2/heartbeat", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
