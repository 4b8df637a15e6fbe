"""Walking the indexed paths: never out of the tree, never into a FIFO, every skip reported."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from index.files import UnreadableFile, iter_files, open_regular, read_bytes
from index.load import read_file

STORY = ("Harbour pilots return to work\n\nPilots in Port Averin ended a two-day stoppage on "
         "Monday after the port authority agreed to review night-shift rosters.\n")


def walk(*paths: Path) -> dict[str, str | None]:
    return {str(path): reason for path, reason in iter_files(paths)}


def test_links_out_of_the_tree_and_special_files_are_reported(tmp_path: Path) -> None:
    tree = tmp_path / "news"
    (tree / "sub").mkdir(parents=True)
    (tree / "story.txt").write_text(STORY)
    (tree / "sub" / "inner.txt").write_text(STORY)
    outside = tmp_path / "secret.txt"
    outside.write_text("not for the index")
    (tree / "passwd.txt").symlink_to("/etc/passwd")
    (tree / "secret.txt").symlink_to(outside)
    (tree / "alias.txt").symlink_to(tree / "sub" / "inner.txt")  # inside: read
    (tree / "gone.txt").symlink_to(tmp_path / "missing.txt")
    (tree / "etc").symlink_to("/etc", target_is_directory=True)
    (tree / "again").symlink_to(tree / "sub", target_is_directory=True)  # inside: read there
    os.mkfifo(tree / "fifo.txt")
    (tree / ".hidden.txt").write_text(STORY)

    found = walk(tree)
    assert found[str(tree / "story.txt")] is None
    assert found[str(tree / "sub" / "inner.txt")] is None
    assert found[str(tree / "alias.txt")] is None
    assert "outside the indexed directory" in found[str(tree / "passwd.txt")]
    assert "outside the indexed directory" in found[str(tree / "secret.txt")]
    assert "outside the indexed directory" in found[str(tree / "etc")]
    assert found[str(tree / "gone.txt")] == "dangling symbolic link"
    assert found[str(tree / "fifo.txt")] == "not a regular file (a FIFO)"
    assert str(tree / "again") not in found and str(tree / ".hidden.txt") not in found
    assert not any(path.startswith(str(tree / "again")) for path in found)


def test_a_socket_in_the_tree_is_reported(tmp_path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "app.sock"))
        assert walk(tmp_path) == {str(tmp_path / "app.sock"): "not a regular file (a socket)"}
    finally:
        server.close()


def test_a_path_given_directly_may_be_a_link_but_not_a_fifo(tmp_path: Path) -> None:
    story = tmp_path / "story.txt"
    story.write_text(STORY)
    (tmp_path / "link.txt").symlink_to(story)
    os.mkfifo(tmp_path / "fifo.txt")
    assert walk(tmp_path / "link.txt", tmp_path / "fifo.txt") == {
        str(tmp_path / "link.txt"): None,
        str(tmp_path / "fifo.txt"): "not a regular file (a FIFO)",
    }


def test_a_fifo_is_never_waited_on(tmp_path: Path) -> None:
    """Opening a FIFO for reading blocks until a writer comes: the reader must not open it so."""
    fifo = tmp_path / "feed.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableFile, match="not a regular file"):
        open_regular(fifo)
    with pytest.raises(UnreadableFile, match="not a regular file"):
        read_file(fifo)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any directory")
def test_an_unreadable_directory_is_reported(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "story.txt").write_text(STORY)
    locked.chmod(0)
    try:
        assert walk(tmp_path) == {str(locked): "cannot read directory: Permission denied"}
    finally:
        locked.chmod(0o755)


def test_a_directory_that_cannot_be_listed_is_reported(tmp_path: Path) -> None:
    """Root may read any directory, but not one whose path is longer than the system allows."""
    name = "d" * 250
    descriptor = os.open(tmp_path, os.O_RDONLY)
    try:
        for _ in range(18):  # 18 x 251 characters: past PATH_MAX (4,096)
            os.mkdir(name, dir_fd=descriptor)
            inner = os.open(name, os.O_RDONLY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = inner
    finally:
        os.close(descriptor)
    found = walk(tmp_path)
    ((path, reason),) = found.items()
    assert path.startswith(str(tmp_path / name)) and len(path) > 4096
    assert reason == "cannot read directory: File name too long"


def test_files_over_the_size_limit_are_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * 3000)
    assert read_bytes(big, max_bytes=15_000) == b"word " * 3000
    with pytest.raises(UnreadableFile, match=r"15,000 bytes, over the limit of 14,999 "
                                             r"\(RAG_MAX_FILE_BYTES\)"):
        read_bytes(big, max_bytes=14_999)
    with pytest.raises(UnreadableFile, match="RAG_MAX_FILE_BYTES"):
        read_file(big, max_bytes=1000)
