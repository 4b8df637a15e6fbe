"""The `rag` command: index files, ask questions, serve the API, and manage documents.

Exit status: 0 success; 1 a failure while running (for `rag index`: some files or records
skipped, the rest indexed); 2 a usage or settings error, or nothing to work on (`rag index`:
nothing could be indexed; `rag eval`: no questions); 130 interrupted; 141 output pipe closed.
Every error is one line on stderr, never a traceback (unless RAG_LOG_LEVEL=DEBUG).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from pydantic import ValidationError

from api.allocator import limit_arenas
from api.settings import ServerSettings
from rag.config import WATCH_INTERVAL_RANGE
from rag.errors import NewsragError
from rag.llm import LLMError
from rag.ownership import Claim, Owner, StoreBusy, StoreServed, claim

if TYPE_CHECKING:
    from api.remote import ServerClient
    from index.pipeline import IngestReport
    from rag.store import Store

SECRET_SETTINGS = {"api_key", "openai_api_key"}


class CommandError(NewsragError):
    """A failure the command reports in one line, with its exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.exit_status = status


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, or a usage error already printed
        return done.code if isinstance(done.code, int) else 2
    if args.command == "serve":
        limit_arenas()  # before any thread allocates
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import bm25s  # noqa: F401  (imported first: it sets DEBUG on its own logger at import)

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    command = f"rag {args.command}"
    try:
        settings = ServerSettings()
    except ValidationError as error:
        return _fail("rag", _invalid_settings(error), 2)
    try:
        status = args.run(args, settings)
        sys.stdout.flush()  # a closed pipe shows here rather than at exit
        return status
    except LLMError as error:  # its code tells a timeout from a refusal
        return _fail(command, f"{error.code}: {error}", error.exit_status)
    except NewsragError as error:  # every error raised on purpose (rag/errors.py)
        return _fail(command, str(error), error.exit_status)
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
    """An argparse type accepting what the setting `name` accepts (its bounds in the
    settings)."""
    low = high = None
    for rule in ServerSettings.model_fields[name].metadata:
        low, high = getattr(rule, "ge", low), getattr(rule, "le", high)
    return _whole_number(low, high)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rag", description=__doc__.split("\n\n")[0],
                     epilog=__doc__.split("\n\n")[1])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    index = commands.add_parser("index", help="index article files, directories and pages")
    index.add_argument("paths", nargs="+", metavar="PATH_OR_URL",
                       help="a file, a directory, or an http(s) URL of an article page")
    index.add_argument("--quiet", action="store_true", help="no progress bar")
    index.add_argument("--json", action="store_true", help="print the report as JSON")
    index.add_argument("--prune", action="store_true",
                       help="remove the articles of files under PATH that no longer exist")
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
    evaluate.add_argument("--export", type=Path, default=None, metavar="FILE",
                          help="also write a JSONL record a question in Ragas' names "
                               "(user_input, response, retrieved_contexts, reference, "
                               "reference_contexts)")
    evaluate.set_defaults(run=_eval, command="eval")

    grounding = commands.add_parser(
        "grounding", help="grade answers against their contexts with the grounding judge")
    grounding.add_argument("records", type=Path,
                           help="JSONL of {question, answer, contexts} records (Ragas' names)")
    grounding.add_argument("--out", type=Path, default=Path("grounding-results.json"))
    grounding.add_argument("--chart", type=Path, default=None, help="PNG (default: beside --out)")
    grounding.set_defaults(run=_grounding, command="grounding")

    mcp = commands.add_parser(
        "mcp", help="serve the MCP tools over stdio, for a desktop client to start")
    mcp.set_defaults(run=_mcp, command="mcp")

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
    migrate = commands.add_parser(
        "migrate", help="bring a store written by an earlier release to the current layout")
    migrate.set_defaults(run=_migrate, command="migrate")
    _add_statement_commands(commands)
    _add_feed_commands(commands)
    return parser


def _index(args: argparse.Namespace, settings: ServerSettings) -> int:
    from index.pipeline import Ingestor, IngestReport, read_documents
    from rag.embeddings import encoder_for
    from rag.store import Store

    urls = [p for p in args.paths if _is_url(p)]
    args.paths = [Path(p) for p in args.paths if not _is_url(p)]
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"rag index: no such file or directory: {escape(', '.join(missing))}",
              file=sys.stderr)
        return 2
    progress = not args.quiet
    pages = IngestReport()
    page_documents = _download_pages(urls, settings, pages)
    held = _hold_store(settings, "index")
    if isinstance(held, Owner):  # a running server holds the store: it does the writing
        print(f"rag index: the store is served by {held.describe()}; sending the articles "
              "there", file=sys.stderr)
        report = IngestReport()
        documents = read_documents(args.paths, report, settings.max_file_bytes, progress)
        with _server(held, settings) as server:
            if args.paths:
                _index_through(server, args.paths, documents, report, args.prune, progress)
            _send_pages(server, page_documents, pages, report)
            counts = server.counts()
    else:
        with held:
            store = Store.open(settings)
            ingestor = Ingestor(store, encoder_for(settings), settings)
            report = ingestor.ingest_paths(args.paths, progress=progress, prune=args.prune) \
                if args.paths else IngestReport()
            report.skipped += pages.skipped
            if page_documents:
                ingestor.ingest_documents(page_documents, report)
            counts = store.article_count(), store.chunk_count()
    _print_report(report, counts, args.json)
    return _index_status(report)


def _print_report(report: IngestReport, counts: tuple[int, int], as_json: bool) -> None:
    if as_json:
        print(json.dumps({
            "added": [a.id for a in report.added], "unchanged": len(report.unchanged),
            "updated": [{"id": a.id, "changed": fields} for a, fields in report.updated],
            "replaced": report.removed, "chunks_added": report.chunks_added,
            "missing": [{"path": p, "id": i} for p, i in report.missing],
            "pruned": report.pruned,
            "skipped": [{"path": p, "reason": r} for p, r in report.skipped],
            "boilerplate_lines_removed": report.boilerplate_lines_removed,
        }, indent=2))
        return
    for path, reason in report.skipped:
        print(f"skipped {escape(path)}: {escape(reason)}")
    for path, article_id in report.missing:
        action = "pruned" if article_id in report.pruned else "file is gone"
        print(f"{action} {escape(path)}: article {article_id}")
    if report.missing and not report.pruned:
        print(f"{len(report.missing)} articles come from files that no longer exist; "
              "`rag index --prune PATH` removes them")
    print(report.summary())
    print(f"store: {counts[0]} articles, {counts[1]} chunks")


def _index_through(server, paths: list[Path], documents, report, prune: bool,
                   progress: bool) -> None:
    """`rag index` by way of the server holding the store: the documents read here are sent
    in batches, then what they replace is removed, as `Ingestor.ingest_paths` would."""
    from api.remote import add_result
    from index.pipeline import apply_plan
    from index.progress import progress_bar
    from index.reconcile import canonical_path, plan

    with progress_bar(len(documents), "sending", "documents", progress) as bar:
        for count, result in server.ingest(documents):
            add_result(report, result)
            # What failed on the server keeps its file's earlier articles, as in process.
            report.failed_paths.update(s["name"] for s in result["skipped"])
            bar.update(count)
    texts: dict[str, str] = {}

    def text_of(article_id: str) -> str:
        if article_id not in texts:
            found = server.article(article_id)
            texts[article_id] = found["text"] if found else ""
        return texts[article_id]

    added = {a.id: a.path for a in report.added if a.path}
    read = {d.path for d in documents if d.path and d.path not in report.failed_paths}
    removals = plan([canonical_path(p) for p in paths], read,
                    {a.id for a in report.added + report.unchanged}, added,
                    server.article_paths(), text_of)
    apply_plan(removals, server.delete, report, prune)


def _is_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def _download_pages(urls: list[str], settings: ServerSettings, report: IngestReport) -> list:
    """`rag index URL`: each page downloaded under the feeds' rules and read as an HTML file
    is; one that fails is a skip with its reason."""
    if not urls:
        return []
    from index.fetch import Fetcher
    from index.page import page_document

    documents = []
    fetcher = Fetcher(settings)
    try:
        for url in urls:
            try:
                documents.append(page_document(url, fetcher))
            except NewsragError as error:  # a refused or failed download, no article text
                report.skipped.append((url, " ".join(str(error).split())
                                       or type(error).__name__))
    finally:
        fetcher.close()
    return documents


def _send_pages(server, documents: list, pages: IngestReport, report: IngestReport) -> None:
    """The pages downloaded, sent to the server holding the store."""
    from api.remote import add_result

    report.skipped += pages.skipped
    for _, result in server.ingest(documents):
        add_result(report, result)


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


def _ask(args: argparse.Namespace, settings: ServerSettings) -> int:
    from rag.engine import Engine
    from rag.schemas import Answer, Filters

    held = _hold_store(settings, "ask")
    if isinstance(held, Owner):
        with _server(held, settings) as server:
            filters = Filters(source=args.source) if args.source else None
            answer = Answer.model_validate(server.ask(args.question, args.top_k, filters))
    else:
        with held:
            answer = Engine(settings).ask(
                args.question, top_k=args.top_k,
                filters=Filters(source=args.source) if args.source else None)
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


def _serve(args: argparse.Namespace, settings: ServerSettings) -> int:
    import uvicorn

    from api.logs import logging_config
    from api.protocol import configured
    from rag.partitions import require_one_store

    require_one_store(settings)  # here, not in the app's start, so it is one line, not a log
    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    if workers > 1 and not settings.chroma_url:
        print("rag serve: several workers need a Chroma server (RAG_CHROMA_URL): an embedded "
              "store is one process's (docs/operations.md)", file=sys.stderr)
        return 2
    held = _hold_store(settings, "serve", url=_local_url(host, port))
    if isinstance(held, Owner):
        print(f"rag serve: the store at {settings.data_dir} is already served by "
              f"{held.describe()}", file=sys.stderr)
        return 1
    # Our logging in every worker (uvicorn applies the dictionary in each); no uvicorn access
    # log, since ours has the request id; no uvicorn proxy-header handling, since the app
    # applies RAG_TRUSTED_PROXIES itself (uvicorn's default would trust 127.0.0.1).
    options = {"host": host, "port": port, "log_config": logging_config(settings),
               "access_log": False, "proxy_headers": False,
               # Slow clients: idle keep-alive connections close, and the headers have a
               # deadline and limits (api/protocol.py); the body's deadline is the app's.
               "timeout_keep_alive": settings.keep_alive_seconds}
    if workers > 1:  # each worker builds its own app from the environment's settings
        uvicorn.run("api.main:app", workers=workers,
                    http="api.protocol:GuardedHTTPProtocol", **options)
    else:
        from api.app import create_app

        uvicorn.run(create_app(settings), http=configured(settings), **options)
    return 0


def _mcp(args: argparse.Namespace, settings: ServerSettings) -> int:
    """The MCP server on stdin and stdout (the protocol's: every log line goes to stderr),
    reading the store as `rag ask` does: in this process, or through the `rag serve` holding
    it."""
    import anyio

    from api.mcp import run_stdio
    from api.readers import EngineReader, ServerReader

    held = _hold_store(settings, "mcp")
    if isinstance(held, Owner):
        print(f"rag mcp: the store is served by {held.describe()}; reading through it",
              file=sys.stderr)
        with _server(held, settings) as server:
            anyio.run(run_stdio, ServerReader(server))
        return 0
    from api.attribution import attribute
    from rag.engine import Engine

    with held:
        with contextlib.redirect_stdout(sys.stderr):  # stdout is the protocol's alone
            engine = Engine(settings, attribute=attribute)
        anyio.run(run_stdio, EngineReader(lambda: engine))
    return 0


def _eval(args: argparse.Namespace, settings: ServerSettings) -> int:
    import httpx

    from api.evaluation import chart, table
    from index.progress import progress_bar, track
    from rag.evaluate import (
        DatasetError,
        EvalItem,
        clapnq_passages,
        gold_passages,
        load_dataset,
        ragas_record,
        run,
        summarise,
    )

    chart_path = args.chart or args.out.with_suffix(".png")
    for path in (args.out, chart_path, *([args.export] if args.export else [])):
        _check_writable(path)  # before any question is asked
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
    gold: dict[str, list[str]] | None = None
    held = None if args.url else _hold_store(settings, "eval")
    if isinstance(held, Owner):  # the store is served: ask the server holding it
        if args.index_passages:
            raise CommandError(f"the store is served by {held.describe()}; index the passages "
                               "through it (`rag index`) or use another RAG_DATA_DIR")
        args.url = held.url
    if args.url:
        ask, method = _http_asker(args.url, args.top_k), "as reported by the server"
    else:
        from rag.engine import Engine

        engine = Engine(settings)
        if args.index_passages:
            _index_records(engine, settings, clapnq_passages(args.dataset))
        if args.export:  # the reference contexts: stored passages holding the evidence
            gold = gold_passages(items, (chunk.text for chunk in engine.store.iter_chunks()))

        def ask(question: str) -> dict:
            return engine.ask(question, top_k=args.top_k).model_dump(mode="json")

        method = "extractive: answer sentences are verbatim spans of their cited passages"
    records: list[dict] = []

    def keep(item: EvalItem, response: dict) -> None:
        known = None if gold is None else gold.get(item.id, [])
        records.append(ragas_record(item, response, known))

    try:
        results = run(items, ask, progress=lambda questions: track(
            questions, progress_bar(len(items), "asking", "questions")),
            keep=keep if args.export else None)
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
    if args.export:
        args.export.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                       for r in records), encoding="utf-8")
        print(f"wrote {args.export} ({len(records)} records"
              + ("" if gold is not None else "; reference_contexts need the store in this "
                 "process, and are null") + ")")
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


def _index_records(engine, settings: ServerSettings, records: list[dict]) -> None:
    from index.load import Document
    from index.pipeline import Ingestor

    documents = [Document(text=r["text"], kind="record", title=r["title"], source=r["source"])
                 for r in records]
    report = Ingestor(engine.store, engine.encoder, settings).ingest_documents(
        documents, progress=sys.stderr.isatty())
    print(report.summary(), file=sys.stderr)


def _grounding(args: argparse.Namespace, settings: ServerSettings) -> int:
    from tqdm import tqdm

    from api.attribution import attribute, inline_chunk
    from api.grounding_report import chart, grade_records, read_records, summarise, table
    from rag.embeddings import claim_encoder_for, encoder_for
    from rag.grounding import GroundingReport, grade
    from rag.lexical import LexicalIndex
    from rag.schemas import Hit

    if not args.records.is_file():
        print(f"rag grounding: no such file: {args.records}", file=sys.stderr)
        return 2
    encoder = claim_encoder_for(settings, encoder_for(settings))  # the judge's, as served

    def grade_one(answer: str, contexts: list[str]) -> GroundingReport:
        chunks = [inline_chunk(text) for text in contexts]
        return grade(answer, [Hit(chunk=c, score=1.0) for c in chunks],
                     list(range(1, len(chunks) + 1)), encoder, LexicalIndex.of_chunks(chunks),
                     attribute)

    records = list(read_records(args.records))
    results = grade_records(tqdm(records, desc="grading", unit="record",
                                 disable=not sys.stderr.isatty()), grade_one)
    summary = summarise(results)
    args.out.write_text(json.dumps({"records_file": str(args.records), "summary": summary,
                                    "results": results}, indent=2, ensure_ascii=False))
    chart_path = args.chart or args.out.with_suffix(".png")
    chart(summary, f"grounding of {args.records.name} ({summary['records']} records)",
          chart_path)
    print(table(summary))
    for result in results:
        if "error" in result:
            print(f"line {result['line']}: {result['error']}", file=sys.stderr)
    print(f"\nwrote {args.out} and {chart_path}")
    return 0


def _docs_list(args: argparse.Namespace, settings: ServerSettings) -> int:
    from rag.store import Store

    held = _hold_store(settings, "docs")
    if isinstance(held, Owner):
        with _server(held, settings) as server:
            rows = server.articles()
    else:
        with held:
            rows, _ = Store.open(settings).list_articles(0, 100_000)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['id']}  {row.get('published') or '          '}  "
              f"{(row.get('source') or '')[:24]:24}  {row.get('title') or '(untitled)'}")
    print(f"{len(rows)} articles")
    return 0


def _docs_show(args: argparse.Namespace, settings: ServerSettings) -> int:
    from rag.schemas import Article
    from rag.store import ArticleNotFound, Store

    held = _hold_store(settings, "docs")
    if isinstance(held, Owner):
        with _server(held, settings) as server:
            found = server.article(args.id)
        if not found:
            raise ArticleNotFound(args.id)
        article = Article.model_validate(found)
    else:
        with held:
            article = Store.open(settings).get_article(args.id)
    print(article.model_dump_json(indent=2))
    return 0


def _docs_delete(args: argparse.Namespace, settings: ServerSettings) -> int:
    from rag.store import Store

    held = _hold_store(settings, "docs")
    status = 0
    with contextlib.ExitStack() as stack:
        if isinstance(held, Owner):
            delete = stack.enter_context(_server(held, settings)).delete
        else:
            stack.enter_context(held)
            store = Store.open(settings)

            def delete(article_id: str) -> int | None:
                return store.delete_article(article_id) if store.has_article(article_id) \
                    else None
        for article_id in args.ids:
            removed = delete(article_id)
            if removed is None:
                print(f"rag docs delete: no document with id {article_id}", file=sys.stderr)
                status = 1
            else:
                print(f"deleted {article_id} ({removed} chunks)")
    return status


def _migrate(args: argparse.Namespace, settings: ServerSettings) -> int:
    from rag.migration import migrate
    from rag.store import Store

    held = _hold_store(settings, "migrate")
    if isinstance(held, Owner):
        raise CommandError(f"the store is served by {held.describe()}: stop it, then migrate")
    with held:
        done = migrate(Store.open(settings), settings)
    print(f"moved the texts of {done.texts} articles out of Chroma's documents")
    print(f"moved the sentence vectors of {done.sentence_vectors} chunks out of chunk metadata")
    print(f"moved the layouts of {done.layouts} chunks out of chunk metadata")
    print(f"moved the signatures of {done.signatures} articles out of article metadata")
    print(f"moved {done.article_records} article records to a collection without their vectors")
    if done.bytes_before is not None and done.bytes_after is not None and done.moved:
        print(f"chroma.sqlite3: {done.bytes_before / 1e6:,.1f} MB -> "
              f"{done.bytes_after / 1e6:,.1f} MB")
    return 0


def _local_url(host: str, port: int) -> str:
    """Where a command on this machine reaches a server listening on `host`:`port`."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _hold_store(settings: ServerSettings, command: str, url: str | None = None) -> Claim | Owner:
    """This process's claim on the embedded store (waiting, with a message, while another
    command holds it), or the server's `Owner` when a running `rag serve` holds it. Raises
    `CommandError` when it stays busy past `RAG_STORE_WAIT_SECONDS`."""
    def waiting(owner: Owner | None) -> None:
        holder = owner.describe() if owner else "another process"
        print(f"rag {command}: waiting for {holder} to release the store at "
              f"{settings.data_dir} ...", file=sys.stderr)

    try:
        return claim(settings, f"rag {command}", url, settings.store_wait_seconds, waiting)
    except StoreServed as served:
        return served.owner
    except StoreBusy as busy:
        raise CommandError(f"{busy}; try again later, or raise RAG_STORE_WAIT_SECONDS") \
            from busy


@contextlib.contextmanager
def _server(owner: Owner, settings: ServerSettings) -> Iterator[ServerClient]:
    """A client of the server that holds the store."""
    from api.remote import ServerClient

    client = ServerClient(owner.url or "", settings.api_key)
    try:
        yield client
    finally:
        client.close()


def _add_statement_commands(commands: argparse._SubParsersAction) -> None:
    speakers = commands.add_parser("speakers", help="list who the indexed articles quote")
    speakers.add_argument("--json", action="store_true")
    speakers.set_defaults(run=_speakers, command="speakers")
    statements = commands.add_parser("statements", help="list what a speaker said")
    statements.add_argument("--speaker", help="a name, alias or role ('the defence minister')")
    statements.add_argument("--q", dest="topic", help="only statements on this topic")
    statements.add_argument("--source", action="append", help="only this outlet (repeatable)")
    statements.add_argument("--from", dest="published_from", type=_date)
    statements.add_argument("--to", dest="published_to", type=_date)
    statements.add_argument("--limit", type=_whole_number(1, 1000), default=50)
    statements.add_argument("--json", action="store_true")
    statements.set_defaults(run=_statements, command="statements")


def _date(text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from error


def _speakers(args: argparse.Namespace, settings: ServerSettings) -> int:
    from api.routes.statements import SpeakerOut, speaker_out

    held = _hold_store(settings, "speakers")
    if isinstance(held, Owner):
        with _server(held, settings) as server:
            speakers = [SpeakerOut.model_validate(s)
                        for s in server.pages("/v1/speakers", "speakers")]
    else:
        from rag.engine import Engine

        with held:
            speakers = [speaker_out(s) for s in Engine(settings).statements().speakers]
    if args.json:
        print(json.dumps([s.model_dump(mode="json") for s in speakers], indent=2))
        return 0
    for speaker in speakers:
        role = f" ({speaker.roles[0]})" if speaker.roles else ""
        also = f"; also {', '.join(speaker.aliases)}" if speaker.aliases else ""
        print(f"{speaker.statements:5}  {speaker.name}{role}{also}"
              f"  [{', '.join(speaker.outlets) or 'unknown outlet'}]")
    print(f"{len(speakers)} speakers")
    return 0


def _statements(args: argparse.Namespace, settings: ServerSettings) -> int:
    from api.routes.statements import StatementOut, statement_out
    from rag.schemas import Filters

    held = _hold_store(settings, "statements")
    if isinstance(held, Owner):
        query = {"speaker": args.speaker, "q": args.topic, "source": args.source,
                 "from": args.published_from, "to": args.published_to, "limit": args.limit}
        with _server(held, settings) as server:
            found = server.get("/v1/statements", {k: v for k, v in query.items() if v})
        records = [StatementOut.model_validate(s) for s in found["statements"]]
    else:
        from rag.engine import Engine

        with held:
            engine = Engine(settings)
            filters = Filters(source=args.source, published_from=args.published_from,
                              published_to=args.published_to)
            index = engine.statements()
            records = [statement_out(s, index.owner(s).name) for s in
                       engine.find_statements(args.speaker, args.topic, filters)[: args.limit]]
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
        return 0
    for record in records:
        where = ", ".join(str(x) for x in (record.source or "unknown outlet", record.published)
                          if x)
        print(f"{record.speaker} ({record.kind}, {record.cue}; {where}):\n    “{record.quote}”")
    print(f"{len(records)} statements")
    return 0


def _add_feed_commands(commands: argparse._SubParsersAction) -> None:
    feeds = commands.add_parser("feeds", help="add, list or remove feed subscriptions")
    actions = feeds.add_subparsers(required=True, metavar="ACTION")
    add = actions.add_parser("add", help="subscribe to RSS, Atom or JSON Feed feeds")
    add.add_argument("urls", nargs="+", metavar="URL")
    add.set_defaults(run=_feeds_add, command="feeds add")
    listing = actions.add_parser("list", help="list subscriptions and their last poll")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_feeds_list, command="feeds list")
    remove = actions.add_parser("remove", help="unsubscribe (the articles read stay)")
    remove.add_argument("feeds", nargs="+", metavar="ID_OR_URL")
    remove.set_defaults(run=_feeds_remove, command="feeds remove")
    watch = commands.add_parser("watch", help="poll every subscribed feed and index new entries")
    watch.add_argument("--once", action="store_true", help="poll once and exit")
    watch.add_argument("--interval", type=float, default=None, metavar="SECONDS",
                       help="between the starts of two polls, 10 to 604800 (default "
                       "RAG_WATCH_INTERVAL_SECONDS, 900)")
    watch.add_argument("--json", action="store_true", help="print each poll's results as JSON")
    watch.set_defaults(run=_watch, command="watch")


@contextlib.contextmanager
def _feed_store(settings: ServerSettings, command: str
                ) -> Iterator[tuple[ServerClient | None, Store | None]]:
    """(server client, None) when a running server holds the store, else (None, store)."""
    from rag.store import Store

    held = _hold_store(settings, command)
    if isinstance(held, Owner):
        with _server(held, settings) as server:
            yield server, None
    else:
        with held:
            yield None, Store.open(settings)


def _feeds_add(args: argparse.Namespace, settings: ServerSettings) -> int:
    from api.remote import ServerError
    from rag.subscriptions import subscribe

    status = 0
    with _feed_store(settings, "feeds") as (server, store):
        for url in args.urls:
            try:
                feed, created = (server.add_feed(url) if server
                                 else subscribe(store, url, settings.max_feeds))
            except (ValueError, ServerError) as error:
                print(f"rag feeds add: {escape(url)}: {error}", file=sys.stderr)
                status = 2 if isinstance(error, ValueError) else 1
                continue
            print(f"{'added' if created else 'already subscribed'} {feed['id']}  "
                  f"{escape(feed['url'])}")
    return status


def _feeds_list(args: argparse.Namespace, settings: ServerSettings) -> int:
    from api.routes.feeds import FeedOut

    with _feed_store(settings, "feeds") as (server, store):
        feeds = [FeedOut.of(f).model_dump() for f in (server.feeds() if server else store.feeds())]
    if args.json:
        print(json.dumps(feeds, indent=2))
        return 0
    for feed in feeds:
        polled = feed.get("last_polled") or "never polled"
        state = feed.get("last_status") or ""
        error = f": {feed['last_error']}" if feed.get("last_error") else ""
        print(f"{feed['id']}  {escape(feed['url'])}  {escape(feed.get('title') or '')}  "
              f"[{polled} {state}{escape(error)}]")
    print(f"{len(feeds)} feeds")
    return 0


def _feeds_remove(args: argparse.Namespace, settings: ServerSettings) -> int:
    from rag.subscriptions import feed_id

    status = 0
    with _feed_store(settings, "feeds") as (server, store):
        for given in args.feeds:
            identity = _or_none(feed_id, given) if "://" in given else given
            if identity is None:
                removed = False
            elif server:
                removed = server.delete_feed(identity) is not None
            else:
                removed = store.delete_feed(identity)
            if removed:
                print(f"removed {identity}")
            else:
                print(f"rag feeds remove: no feed {escape(given)}", file=sys.stderr)
                status = 1
    return status


def _or_none(function: Callable[[str], str], value: str) -> str | None:
    try:
        return function(value)
    except ValueError:
        return None


def _watch(args: argparse.Namespace, settings: ServerSettings) -> int:
    import time

    interval = args.interval if args.interval is not None else settings.watch_interval_seconds
    shortest, longest = WATCH_INTERVAL_RANGE
    if not (math.isfinite(interval) and shortest <= interval <= longest):
        raise CommandError(f"--interval must be from {shortest:g} to {longest:g} seconds", 2)
    encoder = None
    while True:
        began = time.monotonic()
        status, encoder = _watch_once(args, settings, encoder)
        if args.once:
            return status
        time.sleep(max(0.0, interval - (time.monotonic() - began)))


def _watch_once(args: argparse.Namespace, settings: ServerSettings, encoder):
    """One poll of every subscription, holding the store only meanwhile (or through the
    server holding it); the exit status and the encoder, kept for the next poll."""
    from api.remote import ServerDestination
    from index.fetch import Fetcher
    from index.pipeline import Ingestor
    from index.watch import StoreDestination, poll_all, results_json
    from rag.embeddings import encoder_for

    def show(result) -> None:
        if not args.json:
            for entry, reason in result.report.skipped:
                print(f"skipped {escape(entry)}: {escape(reason)}")
            print(result.line(), flush=True)

    fetcher = Fetcher(settings)
    try:
        with _feed_store(settings, "watch") as (server, store):
            if server:
                print(f"rag watch: the store is served at {server.url}; sending the entries "
                      "there", file=sys.stderr)
                destination = ServerDestination(server)
            else:
                encoder = encoder or encoder_for(settings)
                destination = StoreDestination(store, Ingestor(store, encoder, settings))
            results = poll_all(destination, fetcher, settings, show)
    finally:
        fetcher.close()
    if args.json:
        print(results_json(results), flush=True)
    if not results:
        print("rag watch: no feeds to poll (`rag feeds add URL`)", file=sys.stderr)
        return 2, encoder
    failed = sum(r.failed for r in results)
    if failed == len(results):
        return 2, encoder
    return (1 if failed or any(r.report.skipped for r in results) else 0), encoder


if __name__ == "__main__":
    raise SystemExit(main())
