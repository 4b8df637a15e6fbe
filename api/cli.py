"""The `rag` command: index files, ask questions, serve the API, and manage documents."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from rag.config import Settings


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import bm25s  # noqa: F401  (imported first: it sets DEBUG on its own logger at import)

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return args.run(args, Settings())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    index = commands.add_parser("index", help="index article files and directories")
    index.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    index.add_argument("--quiet", action="store_true", help="no progress bar")
    index.add_argument("--json", action="store_true", help="print the report as JSON")
    index.set_defaults(run=_index)

    ask = commands.add_parser("ask", help="ask a question")
    ask.add_argument("question")
    ask.add_argument("--top-k", type=int, default=None)
    ask.add_argument("--source", action="append", help="only this outlet (repeatable)")
    ask.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    ask.set_defaults(run=_ask)

    serve = commands.add_parser("serve", help="serve the HTTP API and the chat page")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=None,
                       help="server processes (default RAG_WORKERS, 1)")
    serve.set_defaults(run=_serve)

    evaluate = commands.add_parser("eval", help="score answers on a labelled question set")
    evaluate.add_argument("dataset", type=Path,
                          help="our JSONL, MultiHop-RAG queries (.json) or CLAP-NQ (.jsonl)")
    evaluate.add_argument("--url", help="ask a running server instead of in process")
    evaluate.add_argument("--limit", type=int, default=None)
    evaluate.add_argument("--question-type", action="append", dest="question_types")
    evaluate.add_argument("--top-k", type=int, default=10)
    evaluate.add_argument("--index-passages", action="store_true",
                          help="first index the passages a CLAP-NQ file carries")
    evaluate.add_argument("--out", type=Path, default=Path("eval-results.json"))
    evaluate.add_argument("--chart", type=Path, default=None, help="PNG (default: beside --out)")
    evaluate.set_defaults(run=_eval)

    docs = commands.add_parser("docs", help="list, show or delete indexed articles")
    docs_commands = docs.add_subparsers(required=True, metavar="ACTION")
    listing = docs_commands.add_parser("list", help="list indexed articles")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_docs_list)
    show = docs_commands.add_parser("show", help="show one article")
    show.add_argument("id")
    show.set_defaults(run=_docs_show)
    delete = docs_commands.add_parser("delete", help="delete articles and all their chunks")
    delete.add_argument("ids", nargs="+", metavar="ID")
    delete.set_defaults(run=_docs_delete)
    _add_statement_commands(commands)
    return parser


def _index(args: argparse.Namespace, settings: Settings) -> int:
    from index.pipeline import Ingestor
    from rag.embeddings import encoder_for
    from rag.store import Store

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"rag index: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    store = Store.open(settings)
    ingestor = Ingestor(store, encoder_for(settings),
                        settings)
    report = ingestor.ingest_paths(args.paths, progress=not args.quiet and sys.stderr.isatty())
    if args.json:
        print(json.dumps({
            "added": [a.id for a in report.added], "unchanged": len(report.unchanged),
            "replaced": report.removed, "chunks_added": report.chunks_added,
            "skipped": [{"path": p, "reason": r} for p, r in report.skipped],
            "boilerplate_lines_removed": report.boilerplate_lines_removed,
        }, indent=2))
        return 0
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}")
    print(report.summary())
    print(f"store: {store.article_count()} articles, {store.chunk_count()} chunks")
    return 0


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
    from tqdm import tqdm

    from api.evaluation import chart, table
    from rag.evaluate import clapnq_passages, load_dataset, run, summarise

    items = load_dataset(args.dataset)
    if args.question_types:
        items = [i for i in items if i.question_type in args.question_types]
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
    results = run(items, ask, progress=lambda xs: tqdm(xs, desc="asking", unit="q"))
    summary = summarise(results, method)
    kinds = sorted({r.question_type for r in results if r.question_type})
    by_type = {k: summarise([r for r in results if r.question_type == k], method)
               for k in kinds}
    args.out.write_text(json.dumps({"dataset": str(args.dataset), "summary": summary,
                                    "by_type": by_type,
                                    "results": [r.model_dump() for r in results]}, indent=2))
    chart_path = args.chart or args.out.with_suffix(".png")
    chart(summary, f"newsrag on {args.dataset.name} ({len(results)} questions)", chart_path)
    print(table(summary, by_type))
    print(f"\nwrote {args.out} and {chart_path}")
    return 0


def _http_asker(url: str, top_k: int):
    import httpx

    client = httpx.Client(base_url=url.rstrip("/"), timeout=60)

    def ask(question: str) -> dict:
        response = client.post("/v1/ask", json={"question": question, "top_k": top_k})
        response.raise_for_status()
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


def _add_statement_commands(commands: argparse._SubParsersAction) -> None:
    speakers = commands.add_parser("speakers", help="list who the indexed articles quote")
    speakers.add_argument("--json", action="store_true")
    speakers.set_defaults(run=_speakers)
    statements = commands.add_parser("statements", help="list what a speaker said")
    statements.add_argument("--speaker", help="a name, alias or role ('the defence minister')")
    statements.add_argument("--q", dest="topic", help="only statements on this topic")
    statements.add_argument("--source", action="append", help="only this outlet (repeatable)")
    statements.add_argument("--from", dest="published_from", type=_date)
    statements.add_argument("--to", dest="published_to", type=_date)
    statements.add_argument("--limit", type=int, default=50)
    statements.add_argument("--json", action="store_true")
    statements.set_defaults(run=_statements)


def _date(text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from error


def _speakers(args: argparse.Namespace, settings: Settings) -> int:
    from api.routes.statements import speaker_out
    from rag.engine import Engine

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


def _statements(args: argparse.Namespace, settings: Settings) -> int:
    from api.routes.statements import statement_out
    from rag.engine import Engine
    from rag.schemas import Filters

    engine = Engine(settings)
    filters = Filters(source=args.source, published_from=args.published_from,
                      published_to=args.published_to)
    found = engine.find_statements(args.speaker, args.topic, filters)[: max(args.limit, 0)]
    index = engine.statements()
    records = [statement_out(s, index.owner(s).name) for s in found]
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
        return 0
    for record in records:
        where = ", ".join(str(x) for x in (record.source or "unknown outlet", record.published)
                          if x)
        print(f"{record.speaker} ({record.kind}, {record.cue}; {where}):\n    “{record.quote}”")
    print(f"{len(records)} statements")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
