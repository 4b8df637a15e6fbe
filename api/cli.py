"""The `rag` command: index files, ask questions, serve the API, and manage documents.

Exit status: 0 success; 1 a failure while running (for `rag index`: some files or records
skipped, the rest indexed); 2 a usage or settings error, or nothing to work on (`rag index`:
nothing could be indexed; `rag eval`: no questions); 130 interrupted; 141 output pipe closed.
Every error is one line on stderr, never a traceback (unless RAG_LOG_LEVEL=DEBUG).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from pydantic import ValidationError

from rag.config import Settings

if TYPE_CHECKING:
    from index.pipeline import IngestReport

SECRET_SETTINGS = {"api_key", "openai_api_key"}


class CommandError(Exception):
    """A failure the command reports in one line, with its exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, or a usage error already printed
        return done.code if isinstance(done.code, int) else 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import bm25s  # noqa: F401  (imported first: it sets DEBUG on its own logger at import)

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    command = f"rag {args.command}"
    try:
        settings = Settings()
    except ValidationError as error:
        return _fail("rag", _invalid_settings(error), 2)
    try:
        status = args.run(args, settings)
        sys.stdout.flush()  # a closed pipe shows here rather than at exit
        return status
    except CommandError as error:
        return _fail(command, str(error), error.status)
    except BrokenPipeError:  # `rag docs list | head -1`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        return _fail(command, "interrupted", 130)
    except Exception as error:
        if settings.log_level == "DEBUG":
            traceback.print_exc()
        return _fail(command, _describe(error), 1)


def _fail(command: str, message: str, status: int) -> int:
    print(f"{command}: {message}", file=sys.stderr)
    return status


def _describe(error: Exception) -> str:
    """An unexpected error in one line: an OS error's reason and file, or the type and message."""
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _invalid_settings(error: ValidationError) -> str:
    problems = []
    for problem in error.errors(include_url=False):
        name = str(problem["loc"][0]) if problem["loc"] else ""
        value = "" if name in SECRET_SETTINGS or "input" not in problem \
            else f"={problem['input']!r}"
        problems.append(f"RAG_{name.upper()}{value}: "
                        f"{problem['msg'].removeprefix('Value error, ')}")
    return "invalid setting " + "; ".join(problems)


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _whole_number(low: int | None, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in low..high."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            allowed = f"at least {low}" if high is None else f"{low}..{high}"
            raise argparse.ArgumentTypeError(f"{value} is outside {allowed}")
        return value

    return parse


def _setting_range(name: str) -> Callable[[str], int]:
    """An argparse type accepting what the setting `name` accepts (its bounds in Settings)."""
    low = high = None
    for rule in Settings.model_fields[name].metadata:
        low, high = getattr(rule, "ge", low), getattr(rule, "le", high)
    return _whole_number(low, high)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rag", description=__doc__.split("\n\n")[0],
                     epilog=__doc__.split("\n\n")[1])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    index = commands.add_parser("index", help="index article files and directories")
    index.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    index.add_argument("--quiet", action="store_true", help="no progress bar")
    index.add_argument("--json", action="store_true", help="print the report as JSON")
    index.set_defaults(run=_index, command="index")

    ask = commands.add_parser("ask", help="ask a question")
    ask.add_argument("question")
    ask.add_argument("--top-k", type=_setting_range("top_k"), default=None,
                     help="passages to draw on (1..50; default RAG_TOP_K)")
    ask.add_argument("--source", action="append", help="only this outlet (repeatable)")
    ask.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    ask.set_defaults(run=_ask, command="ask")

    serve = commands.add_parser("serve", help="serve the HTTP API and the chat page")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=_setting_range("port"), default=None,
                       help="1..65535 (default RAG_PORT, 8000)")
    serve.add_argument("--workers", type=_setting_range("workers"), default=None,
                       help="server processes (default RAG_WORKERS, 1)")
    serve.set_defaults(run=_serve, command="serve")

    evaluate = commands.add_parser("eval", help="score answers on a labelled question set")
    evaluate.add_argument("dataset", type=Path,
                          help="our JSONL, MultiHop-RAG queries (.json) or CLAP-NQ (.jsonl)")
    evaluate.add_argument("--url", help="ask a running server instead of in process")
    evaluate.add_argument("--limit", type=_whole_number(1), default=None,
                          help="ask only the first N questions")
    evaluate.add_argument("--question-type", action="append", dest="question_types")
    evaluate.add_argument("--top-k", type=_setting_range("top_k"), default=10)
    evaluate.add_argument("--index-passages", action="store_true",
                          help="first index the passages a CLAP-NQ file carries")
    evaluate.add_argument("--out", type=Path, default=Path("eval-results.json"))
    evaluate.add_argument("--chart", type=Path, default=None, help="PNG (default: beside --out)")
    evaluate.set_defaults(run=_eval, command="eval")

    docs = commands.add_parser("docs", help="list, show or delete indexed articles")
    docs_commands = docs.add_subparsers(required=True, metavar="ACTION")
    listing = docs_commands.add_parser("list", help="list indexed articles")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_docs_list, command="docs list")
    show = docs_commands.add_parser("show", help="show one article")
    show.add_argument("id")
    show.set_defaults(run=_docs_show, command="docs show")
    delete = docs_commands.add_parser("delete", help="delete articles and all their chunks")
    delete.add_argument("ids", nargs="+", metavar="ID")
    delete.set_defaults(run=_docs_delete, command="docs delete")
    return parser


def _index(args: argparse.Namespace, settings: Settings) -> int:
    from index.pipeline import Ingestor
    from rag.embeddings import encoder_for
    from rag.store import Store

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"rag index: no such file or directory: {escape(', '.join(missing))}",
              file=sys.stderr)
        return 2
    store = Store.open(settings)
    ingestor = Ingestor(store, encoder_for(settings),
                        settings)
    report = ingestor.ingest_paths(args.paths, progress=not args.quiet)
    if args.json:
        print(json.dumps({
            "added": [a.id for a in report.added], "unchanged": len(report.unchanged),
            "replaced": report.removed, "chunks_added": report.chunks_added,
            "skipped": [{"path": p, "reason": r} for p, r in report.skipped],
            "boilerplate_lines_removed": report.boilerplate_lines_removed,
        }, indent=2))
        return _index_status(report)
    for path, reason in report.skipped:
        print(f"skipped {escape(path)}: {escape(reason)}")
    print(report.summary())
    print(f"store: {store.article_count()} articles, {store.chunk_count()} chunks")
    return _index_status(report)


def _index_status(report: IngestReport) -> int:
    """0: every file indexed (or unchanged); 1: some skipped; 2: nothing could be indexed."""
    if not report.added and not report.unchanged:
        if not report.skipped:
            print("rag index: no article files found", file=sys.stderr)
        return 2
    return 1 if report.skipped else 0


def escape(text: str) -> str:
    """`text` on one line: a newline or another unprintable character as its escape (\\n)."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from rag.engine import Engine, InvalidRequest
    from rag.llm import LLMError
    from rag.schemas import Filters

    engine = Engine(settings)
    try:
        answer = engine.ask(args.question, args.top_k,
                            Filters(source=args.source) if args.source else None)
    except InvalidRequest as error:
        print(f"rag ask: {error}", file=sys.stderr)
        return 2
    except LLMError as error:  # only with RAG_LLM_FALLBACK off
        print(f"rag ask: {error.code}: {error}", file=sys.stderr)
        return 1
    if answer.notice:
        print(f"rag ask: {answer.notice.message}", file=sys.stderr)
    if args.json:
        print(answer.model_dump_json(indent=2))
        return 0
    print(answer.answer)
    for citation in answer.citations:
        meta = ", ".join(str(x) for x in (citation.source, citation.published) if x)
        title = citation.title or "(untitled)"
        print(f"\n[{citation.id}] {title} ({meta})\n    “{citation.quote}”")
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.logs import logging_config
    from api.protocol import with_header_timeout

    host = args.host or settings.host
    port = args.port or settings.port
    # Our logging in every worker (uvicorn applies the dictionary in each); no uvicorn access
    # log, since ours has the request id; no uvicorn proxy-header handling, since the app
    # applies RAG_TRUSTED_PROXIES itself (uvicorn's default would trust 127.0.0.1).
    options = {"host": host, "port": port, "log_config": logging_config(settings),
               "access_log": False, "proxy_headers": False,
               # Slow clients: idle keep-alive connections close, and the headers have a
               # deadline (api/protocol.py); the body's deadline is the app's (GuardMiddleware).
               "timeout_keep_alive": settings.keep_alive_seconds}
    workers = args.workers or settings.workers
    if workers > 1:  # each worker builds its own app from the environment's settings
        # ... and must know it has siblings writing to the same store (rag/retrieve.py).
        os.environ["RAG_WORKERS"] = str(workers)
        uvicorn.run("api.main:app", workers=workers,
                    http="api.protocol:HeaderTimeoutProtocol", **options)
    else:
        from api.app import create_app

        uvicorn.run(create_app(settings), http=with_header_timeout(settings.header_timeout_seconds),
                    **options)
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    import httpx

    from api.evaluation import chart, table
    from index.progress import progress_bar, track
    from rag.evaluate import DatasetError, clapnq_passages, load_dataset, run, summarise

    chart_path = args.chart or args.out.with_suffix(".png")
    for path in (args.out, chart_path):  # before any question is asked
        _check_writable(path)
    try:
        items = load_dataset(args.dataset)
    except DatasetError as error:
        raise CommandError(str(error), 2) from error
    if args.question_types:
        items = [i for i in items if i.question_type in args.question_types]
    if not items:
        kinds = f" of type {', '.join(args.question_types)}" if args.question_types else ""
        raise CommandError(f"{args.dataset}: no questions{kinds}", 2)
    items = items[: args.limit]
    if args.url:
        ask, method = _http_asker(args.url, args.top_k), "as reported by the server"
    else:
        from rag.engine import Engine

        engine = Engine(settings)
        if args.index_passages:
            _index_records(engine, settings, clapnq_passages(args.dataset))

        def ask(question: str) -> dict:
            return engine.ask(question, top_k=args.top_k).model_dump(mode="json")

        method = "extractive: answer sentences are verbatim spans of their cited passages"
    try:
        results = run(items, ask, progress=lambda questions: track(
            questions, progress_bar(len(items), "asking", "questions")))
    except httpx.HTTPError as error:
        raise CommandError(f"asking {args.url}: {_describe(error)}") from error
    summary = summarise(results, method)
    kinds = sorted({r.question_type for r in results if r.question_type})
    by_type = {k: summarise([r for r in results if r.question_type == k], method)
               for k in kinds}
    args.out.write_text(json.dumps({"dataset": str(args.dataset), "summary": summary,
                                    "by_type": by_type,
                                    "results": [r.model_dump() for r in results]}, indent=2))
    chart(summary, f"newsrag on {args.dataset.name} ({len(results)} questions)", chart_path)
    print(table(summary, by_type))
    print(f"\nwrote {args.out} and {chart_path}")
    return 0


def _check_writable(path: Path) -> None:
    """Raise `CommandError` (status 2) when a file cannot be written at `path`."""
    folder = path.parent
    if not folder.is_dir():
        raise CommandError(f"cannot write {path}: no directory {folder}", 2)
    if path.is_dir() or not os.access(folder, os.W_OK) or (
            path.exists() and not os.access(path, os.W_OK)):
        raise CommandError(f"cannot write {path}: not a writable file", 2)


def _http_asker(url: str, top_k: int):
    import httpx

    client = httpx.Client(base_url=url.rstrip("/"), timeout=60)

    def ask(question: str) -> dict:
        response = client.post("/v1/ask", json={"question": question, "top_k": top_k})
        if response.is_error:
            raise CommandError(f"{url} answered {response.status_code}: "
                               f"{' '.join(response.text.split())[:200]}")
        return response.json()

    return ask


def _index_records(engine, settings: Settings, records: list[dict]) -> None:
    from index.load import Document
    from index.pipeline import Ingestor

    documents = [Document(text=r["text"], kind="record", title=r["title"], source=r["source"])
                 for r in records]
    report = Ingestor(engine.store, engine.encoder, settings).ingest_documents(
        documents, progress=sys.stderr.isatty())
    print(report.summary(), file=sys.stderr)


def _docs_list(args: argparse.Namespace, settings: Settings) -> int:
    from rag.store import Store

    store = Store.open(settings)
    rows, total = store.list_articles(0, 100_000)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['id']}  {row.get('published', '          ')}  "
              f"{(row.get('source') or '')[:24]:24}  {row.get('title') or '(untitled)'}")
    print(f"{total} articles")
    return 0


def _docs_show(args: argparse.Namespace, settings: Settings) -> int:
    from rag.store import ArticleNotFound, Store

    try:
        article = Store.open(settings).get_article(args.id)
    except ArticleNotFound:
        print(f"rag docs show: no document with id {args.id}", file=sys.stderr)
        return 1
    print(article.model_dump_json(indent=2))
    return 0


def _docs_delete(args: argparse.Namespace, settings: Settings) -> int:
    from rag.store import ArticleNotFound, Store

    store = Store.open(settings)
    status = 0
    for article_id in args.ids:
        try:
            print(f"deleted {article_id} ({store.delete_article(article_id)} chunks)")
        except ArticleNotFound:
            print(f"rag docs delete: no document with id {article_id}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
