"""`rag watch` as a long-running process: killed with SIGKILL in the middle of a poll, and
restarted, it loses no entry and stores none twice (the feed's state is in the store, its
articles known by canonical URL); without `--once` it polls again at its interval, holding the
store only while it polls, until interrupted."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_feeds import rag
from test_watch_outcomes import ALLOW

from feed_server import FeedServer
from processes import RAG, rag_env

ENTRIES = 150
SETTINGS = {**ALLOW, "feed_max_entries": "1000"}
# Bounds, not expectations.
WAIT_SECONDS = 180.0


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def start_watch(data: Path, *options: str) -> subprocess.Popen:
    """`rag watch` started as from a terminal: SIGINT delivered and handled. A child inherits
    the signal mask of the thread that starts it and an ignored SIGINT, and a library loaded
    earlier in the test session can leave either so; an interrupt would then never arrive."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return subprocess.Popen([str(RAG), "watch", *options], env=rag_env(data, **SETTINGS),
                            cwd=data.parent, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(condition, what: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"rag watch ended before {what}: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no {what} within {WAIT_SECONDS} s")
        time.sleep(0.02)


def test_a_watch_killed_mid_poll_loses_nothing_and_duplicates_nothing(
        tmp_path: Path, feed_server: FeedServer) -> None:
    data = tmp_path / "data"
    feed = f"{feed_server.url}/generated.rss?n={ENTRIES}"
    assert rag("feeds", "add", feed, data_dir=data).returncode == 0
    pages = lambda: feed_server.count("/generated/")  # noqa: E731

    # Killed while it stores the first batch of entries (all its pages downloaded) ...
    first = start_watch(data, "--once")
    wait_for(lambda: pages() >= 100, "the first batch's pages", first)
    time.sleep(1.0)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    # ... and again, restarted, once it is past that batch and downloading the next.
    second = start_watch(data, "--once")
    wait_for(lambda: pages() >= 100 + 100 + 10, "the second batch's pages", second)
    second.send_signal(signal.SIGKILL)
    second.wait(timeout=30)

    third = rag("watch", "--once", "--json", data_dir=data, **SETTINGS)
    assert third.returncode == 0, third.stdout + third.stderr
    [result] = json.loads(third.stdout)
    assert result["status"] == "ok" and result["entries"] == ENTRIES
    # What the killed runs stored is found stored (no embedding again); the rest is added.
    assert len(result["unchanged"]) >= 100
    assert len(result["unchanged"]) + len(result["added"]) == ENTRIES
    articles = json.loads(rag("docs", "list", "--json", data_dir=data).stdout)
    urls = sorted(a["url"] for a in articles)
    assert urls == sorted(f"{feed_server.url}/generated/{n}.html" for n in range(ENTRIES))
    assert all(a["chunks"] and a["chunks"] > 0 for a in articles)
    # The poll that finished recorded the feed: the next one is a 304 and stores nothing.
    fourth = json.loads(rag("watch", "--once", "--json", data_dir=data, **SETTINGS).stdout)
    assert fourth[0]["status"] == "not_modified" and fourth[0]["added"] == []
    assert feed_server.statuses(f"/generated.rss?n={ENTRIES}")[-1] == 304


def test_watch_without_once_polls_at_its_interval_until_interrupted(
        tmp_path: Path, feed_server: FeedServer) -> None:
    data = tmp_path / "data"
    assert rag("feeds", "add", f"{feed_server.url}/feeds/harbour.rss",
               data_dir=data).returncode == 0
    watch = start_watch(data, "--interval", "10", "--json")
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(watch.stdout), daemon=True)
    reader.start()
    printed = lambda: lines.count("]\n")  # noqa: E731  (each poll prints one JSON array)
    try:
        wait_for(lambda: printed() == 1, "a first poll", watch)
        feed_server.replace("/feeds/harbour.rss", "about a third", "nearly half")
        wait_for(lambda: printed() == 2, "a second poll", watch)
        wait_for(lambda: printed() == 3, "a third poll", watch)
        # Between polls the store is free: another command opens it and finds the entries.
        listed = rag("docs", "list", "--json", data_dir=data)
        assert listed.returncode == 0 and "waiting for" not in listed.stderr, listed.stderr
        assert len(json.loads(listed.stdout)) == 2
    finally:
        watch.send_signal(signal.SIGINT)
        watch.wait(timeout=60)
        reader.join(timeout=10)
    assert watch.returncode == 130, watch.stderr.read() if watch.stderr else ""
    polls, text = [], "".join(lines).strip()
    decoder = json.JSONDecoder()
    while text:
        value, end = decoder.raw_decode(text)
        polls.append(value[0])
        text = text[end:].strip()
    assert len(polls) == 3
    assert len(polls[0]["added"]) == 2
    assert len(polls[1]["added"]) == 1 and len(polls[1]["replaced"]) == 1, polls[1]  # changed
    assert polls[2]["status"] == "not_modified" and polls[2]["added"] == []
    assert feed_server.statuses("/feeds/harbour.rss") == [200, 200, 304]
