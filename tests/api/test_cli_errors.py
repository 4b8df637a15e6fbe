"""The `rag` command when things go wrong: exit statuses, one-line errors, no tracebacks.

What is about the process (exit statuses of `rag index`, a FIFO that must not hang it, a closed
pipe, what reaches stderr) runs real `rag` processes; argument and dataset checks run `main`
in process, whose return value is the process's exit status.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import main
from index.progress import PlainLines, progress_bar
from support import EXAMPLES

RAG = Path(sys.executable).with_name("rag")
STORY = ("Harbour pilots return to work\n\nPilots in Port Averin ended a two-day stoppage on "
         "Monday after the port authority agreed to review night-shift rosters.\n")


def environment(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_DATA_DIR=str(data_dir), RAG_MODEL_CACHE_DIR=os.environ["RAG_MODEL_CACHE_DIR"],
               HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False", **settings)
    return env


def rag(*args: str, data_dir: Path, cwd: Path, timeout: float = 120,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A real `rag` process, to its end (at most `timeout` seconds: a hang fails the test)."""
    return subprocess.run([str(RAG), *args], env=environment(data_dir, **(env or {})), cwd=cwd,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, check=False)


def one_line(text: str) -> str:
    lines = text.strip("\n").split("\n")
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("RAG_API_KEY", raising=False)
    return tmp_path / "var"


def test_index_says_in_its_exit_status_whether_anything_failed(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "good.txt").write_text((EXAMPLES / "01_port_strike.txt").read_text())
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    (folder / "forged\nskipped nothing.txt: all fine.txt").write_bytes(b"\x00binary")
    (folder / "login.html").write_text((Path(__file__).parents[1] / "index" / "fixtures"
                                        / "login_page.html").read_text())
    (folder / "blank.html").write_text("<html><body></body></html>")  # trafilatura warns
    data = tmp_path / "var"

    partial = rag("index", str(folder), data_dir=data, cwd=tmp_path)
    assert partial.returncode == 1, partial.stderr
    lines = partial.stdout.splitlines()
    skips = [line for line in lines if line.startswith("skipped ")]
    assert len(skips) == 4  # the file name's newline is escaped, not a forged line of its own
    assert any(line.startswith(f"skipped {folder}/forged\\nskipped nothing.txt: all fine.txt: "
                               "binary") for line in skips)
    assert any("passwd.txt: symbolic link to /etc/passwd, outside" in line for line in skips)
    assert "1 added" in partial.stdout
    assert "trafilatura" not in partial.stderr  # nothing said of the pages it discarded
    listing = rag("docs", "list", "--json", data_dir=data, cwd=tmp_path)
    assert [row["title"] for row in json.loads(listing.stdout)] == [
        "Dockworkers walk out at Port Averin as wage talks collapse"]

    unchanged = rag("index", str(folder / "good.txt"), "--json", data_dir=data, cwd=tmp_path)
    assert unchanged.returncode == 0 and json.loads(unchanged.stdout)["unchanged"] == 1

    nothing = rag("index", str(folder), "--json", data_dir=tmp_path / "other", cwd=tmp_path,
                  env={"RAG_MAX_FILE_BYTES": "1000"})  # the good file too is over this
    assert nothing.returncode == 2  # nothing could be indexed
    report = json.loads(nothing.stdout)
    assert not report["added"] and len(report["skipped"]) == 5


def test_index_never_waits_on_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    done = rag("index", str(fifo), data_dir=tmp_path / "var", cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert f"skipped {fifo}: not a regular file (a FIFO)" in done.stdout


def test_a_closed_pipe_ends_the_listing_quietly(tmp_path: Path) -> None:
    """`rag docs list | head -1`: the reader is gone before the listing is written."""
    data = tmp_path / "var"
    story = tmp_path / "story.txt"
    story.write_text(STORY)
    assert rag("index", "--quiet", str(story), data_dir=data, cwd=tmp_path).returncode == 0
    reader, writer = os.pipe()
    listing = subprocess.Popen([str(RAG), "docs", "list"], env=environment(data), cwd=tmp_path,
                               stdout=writer, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    os.close(writer)
    os.close(reader)  # as `head` does once it has its line
    _, stderr = listing.communicate(timeout=120)
    assert stderr == b""
    assert listing.returncode == 141


@pytest.mark.parametrize(("argv", "names"), [
    (["ask", "q", "--top-k", "0"], "argument --top-k: 0 is outside 1..50"),
    (["ask", "q", "--top-k", "1000000"], "argument --top-k: 1000000 is outside 1..50"),
    (["ask", "q", "--top-k", "abc"], "argument --top-k: not a whole number: 'abc'"),
    (["serve", "--port", "99999"], "argument --port: 99999 is outside 1..65535"),
    (["serve", "--workers", "0"], "argument --workers: 0 is outside 1..64"),
    (["eval", "x.jsonl", "--limit", "-1"], "argument --limit: -1 is outside at least 1"),
    (["eval", "x.jsonl", "--top-k", "51"], "argument --top-k: 51 is outside 1..50"),
])
def test_arguments_out_of_range_are_usage_errors(argv: list[str], names: str,
                                                 capsys: pytest.CaptureFixture) -> None:
    assert main(argv) == 2
    assert names in one_line(capsys.readouterr().err)


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("RAG_CHUNK_TOKENS", "0", "RAG_CHUNK_TOKENS='0': Input should be greater than or equal "
                              "to 32"),
    ("RAG_TOP_K", "abc", "RAG_TOP_K='abc': Input should be a valid integer"),
    ("RAG_DATA_DIR", "{file}", "RAG_DATA_DIR="),
])
def test_bad_settings_are_one_line(variable: str, value: str, message: str, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture) -> None:
    file = tmp_path / "passwd"
    file.write_text("root:x:0:0\n")
    monkeypatch.setenv(variable, value.format(file=file))
    assert main(["docs", "list"]) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith("rag: invalid setting ") and message in line
    if variable == "RAG_DATA_DIR":
        assert "exists and is not a directory" in line


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_eval_refuses_what_it_cannot_read(data_dir: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    question = json.dumps({"id": "q1", "question": "Who?", "answerable": False})
    cases = [
        (tmp_path / "missing.jsonl", "cannot read {path}: No such file or directory"),
        (write(tmp_path / "bad.jsonl", question + "\n{oops\n"),
         "{path} line 2: invalid JSON: Expecting property name enclosed in double quotes at "
         "line 1, column 2"),
        (write(tmp_path / "shape.jsonl", '{"id": "q1"}\n'), "{path} line 1: question: Field "
                                                             "required"),
        (write(tmp_path / "rows.json", '{"query": "x"}'),
         "{path}: not a list of MultiHop-RAG queries"),
        (write(tmp_path / "empty.jsonl", ""), "{path}: no questions"),
    ]
    for path, message in cases:
        assert main(["eval", str(path), "--out", str(tmp_path / "out.json")]) == 2, path
        assert one_line(capsys.readouterr().err) == "rag eval: " + message.format(path=path)
    assert not (tmp_path / "out.json").exists()


def test_eval_checks_where_it_writes_before_asking(data_dir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "no" / "such" / "dir" / "results.json"
    assert main(["eval", str(EXAMPLES.parent / "qa.jsonl"), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert one_line(captured.err) == f"rag eval: cannot write {out}: no directory {out.parent}"
    assert "asking" not in captured.err  # no progress: not one question was asked


def test_eval_against_a_closed_server_is_one_line(data_dir: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    assert main(["eval", str(EXAMPLES.parent / "qa.jsonl"), "--url", url,
                 "--out", str(tmp_path / "out.json")]) == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"rag eval: asking {url}: ") and "refused" in line


def test_progress_is_plain_lines_off_a_terminal(capsys: pytest.CaptureFixture) -> None:
    assert isinstance(progress_bar(10, "embedding", "chunks", enabled=True), PlainLines)
    lines = PlainLines(4800, "embedding", "chunks", interval=0)
    for _ in range(3):
        lines.update(1200)
    lines.close()
    written = capsys.readouterr().err
    assert "\r" not in written
    assert written.splitlines()[0].startswith("embedding: 1200/4800 chunks (25%) [")
    assert written.splitlines()[-1].startswith("embedding: 3600/4800 chunks (75%) [")
    quiet = PlainLines(10, "reading", "files", interval=3600)
    quiet.update(10)
    quiet.close()  # shorter than one interval: nothing at all
    assert capsys.readouterr().err == ""


def test_serve_refuses_partitions_in_one_line_before_it_starts(tmp_path: Path) -> None:
    done = rag("serve", "--port", "1", data_dir=tmp_path / "var", cwd=tmp_path,
               env={"RAG_PARTITIONS": '["a", "b"]'})
    assert done.returncode == 2
    assert "RAG_PARTITIONS" in one_line(done.stderr)
    assert not (tmp_path / "var" / "store.owner.json").exists()  # the store was never held
