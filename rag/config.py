"""Every setting of the service in one place, read from `RAG_*` environment variables."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The largest values the request limits may be set to: request models refuse more before the
# engine checks the configured limits, which are usually far lower.
QUESTION_CHARS_CEILING = 100_000
HISTORY_TURNS_CEILING = 1_000
# `rag watch`: the shortest and longest pause between the starts of two polls, in seconds.
WATCH_INTERVAL_RANGE = (10.0, 7 * 86400.0)


def default_model_cache() -> Path:
    """`$XDG_CACHE_HOME/newsrag` (`~/.cache/newsrag`): derived model files can be made again,
    so they live in the user's cache, shared by every data directory and process."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "newsrag"


class Settings(BaseSettings):
    """Service configuration; build it once and pass it down (nothing reads the env elsewhere)."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    # Storage
    data_dir: Path = Field(Path("var"), description="Where embedded Chroma keeps its files.")
    collection: str = Field("news", description="Chroma collection name prefix.")
    chroma_url: str | None = Field(None, description="A Chroma server (`chroma run`) instead.")
    store_wait_seconds: float = Field(
        3600.0, ge=0.0, le=7 * 86400.0, description="How long a command waits while another "
        "holds the embedded store (one process at a time; 0: fail at once). A command finding "
        "it held by `rag serve` sends its work to that server instead.")
    lexical_refresh_seconds: float = Field(
        2.0, ge=0.0, le=3600.0, description="How often, at most, a search checks whether "
        "another process changed the store (0: every search); the search snapshot is then "
        "brought up to date."
    )

    # Embedding and chunking
    embed_backend: Literal["onnx", "sentence-transformers"] = Field(
        "onnx", description="all-MiniLM-L6-v2 on onnxruntime (default) or on torch."
    )
    question_encoder: Literal["int8", "same"] = Field(
        "int8", description="Questions embedded by the ONNX model with int8 arithmetic "
        "(default: half the CPU of a question) or by the documents' encoder.")
    model_cache_dir: Path = Field(
        default_factory=default_model_cache,
        description="Where the int8 question encoder derived from the shipped model is kept.")
    embed_batch_size: int = Field(32, ge=1, le=512)
    chunk_tokens: int = Field(256, ge=32, le=2048, description="Max tiktoken tokens a chunk.")
    chunk_overlap: int = Field(32, ge=0, le=1024, description="Tokens shared by neighbours.")

    # Ingestion limits (docs/operations.md, "Ingestion limits")
    max_file_bytes: int = Field(
        10_000_000, ge=1_000, description="Largest file `rag index` reads whole (text, Markdown, "
        "HTML, JSON): larger ones are skipped with the reason. A JSON Lines feed is read a line "
        "at a time, whatever its size, each line at most this."
    )
    max_article_chars: int = Field(
        5_000_000, ge=1_000, description="Longest article text indexed (as one JSON document "
        "of the API): longer articles are skipped with the reason."
    )

    # Feed subscriptions (`rag watch`; docs/operations.md, "Feed subscriptions")
    max_feeds: int = Field(
        500, ge=1, le=100_000, description="Subscriptions a store may hold: adding one more "
        "is a 422.")
    feed_max_bytes: int = Field(
        5_000_000, ge=1_000, le=100_000_000, description="Largest feed document or article "
        "page `rag watch` downloads: a larger one is that feed's failure or that entry's skip.")
    feed_timeout_seconds: float = Field(
        20.0, gt=0, le=600, description="Time one download (a feed or a page, redirects "
        "included) may take, from the first connection to the last byte.")
    feed_max_redirects: int = Field(
        5, ge=0, le=20, description="Redirects one download may follow; each hop is checked "
        "against the private-address rule.")
    feed_max_entries: int = Field(
        100, ge=1, le=10_000, description="Entries read from one feed a poll (the first ones: "
        "feeds list the newest first); the rest are left out and counted.")
    feeds_allow_private: bool = Field(
        False, description="Let `rag watch`, `rag index URL` and `POST /v1/documents {url}` "
        "fetch at private, loopback, link-local and other non-public addresses (refused by "
        "default: SSRF).")
    feeds_allow_networks: list[str] = Field(
        default_factory=list, description="Non-public addresses or networks fetches may reach "
        "all the same (`[\"127.0.0.1\"]`), where RAG_FEEDS_ALLOW_PRIVATE would allow them all.")
    fetch_host_delay_seconds: float = Field(
        1.0, ge=0.0, le=3600.0, description="Politeness: the least time from one answer of a "
        "host to the next request to it (longer when its robots.txt asks for a Crawl-delay, up "
        "to a minute).")
    fetch_robots: bool = Field(
        True, description="Obey robots.txt (read once a day a host, kept with the feed).")
    feed_retry_seconds: float = Field(
        300.0, ge=0.0, le=86400.0, description="Backoff after a failed feed poll or page "
        "download: this, doubled with each failure in a row, at most a day (0: no backoff).")
    sitemap_max_files: int = Field(
        20, ge=1, le=1000, description="Sitemaps read from one sitemap index a poll (its "
        "children, and theirs: two levels at most).")
    watch_interval_seconds: float = Field(
        900.0, ge=WATCH_INTERVAL_RANGE[0], le=WATCH_INTERVAL_RANGE[1],
        description="`rag watch` without `--once`: seconds "
        "between the starts of two polls of every subscription.")

    # Retrieval
    top_k: int = Field(8, ge=1, le=50, description="Passages an answer draws on by default.")
    candidates: int = Field(50, ge=10, le=500, description="Pool each retriever contributes.")
    exact_search_max_chunks: int = Field(
        20_000, ge=0, description="Up to this many chunks, dense search scans every vector in "
        "memory (exact, ~1 ms at 10k); above it, Chroma's HNSW index finds the candidates (a "
        "scan of 100k took 13-19 ms, HNSW 3 ms: docs/benchmarks.md)."
    )
    dense_weight: float = Field(
        0.3, ge=0.0, le=1.0, description="Share of the dense score in the fused score."
    )
    max_chunks_per_article: int = Field(3, ge=1, le=50)
    rerank_depth: int = Field(
        30, ge=0, le=500, description="Fused candidates the second stage re-scores by their "
        "best sentence and question clause, named outlets first (0: off; docs/evaluation.md)."
    )
    sentence_weight: float = Field(
        0.4, ge=0.0, le=1.0, description="Share of the best sentence's coverage of the "
        "question in the re-ranked score."
    )
    clause_weight: float = Field(
        0.2, ge=0.0, le=1.0, description="Share of the best coverage of one question clause "
        "in the re-ranked score."
    )
    sentence_vectors: bool = Field(
        True, description="Embed every sentence on its own at ingestion and credit re-ranked "
        "passages with their best sentence's cosine to the question and its clauses (MAP@10 "
        "+0.019 on MultiHop-RAG; docs/evaluation.md). Off: ingestion embeds chunks only."
    )
    sentence_vector_weight: float = Field(
        0.0, ge=0.0, le=5.0, description="Weight of the best sentence's cosine to the whole "
        "question, added to its coverage of the question (fitted: 0.5 scored MAP@10 -0.002 "
        "with the clause term on; docs/evaluation.md)."
    )
    clause_vector_weight: float = Field(
        1.5, ge=0.0, le=5.0, description="Weight of the best (sentence, question clause) "
        "cosine, added to the clause coverage (fitted on MultiHop-RAG's even dev queries)."
    )
    date_boost: float = Field(
        0.3, ge=0.0, le=1.0, description="Fused-score bonus for passages published within a "
        "day of a date the question names."
    )
    outlet_boost: float = Field(
        0.3, ge=0.0, le=1.0, description="Fused-score bonus for passages of outlets the "
        "question names (calibrated: docs/evaluation.md)."
    )

    # Answering
    answer_sentences: int = Field(5, ge=1, le=20, description="Sentences an extractive answer.")
    abstain_threshold: float = Field(
        0.47, ge=0.0, le=1.0, description="Evidence score below which the answer abstains."
    )
    min_question_coverage: float = Field(
        0.55, ge=0.0, le=1.0,
        description="Share of the question's terms the passages must hold, else abstain.",
    )
    max_question_chars: int = Field(
        2000, ge=10, le=QUESTION_CHARS_CEILING, description="Longest question, and longest "
        "earlier user message of a conversation (each was a question); a follow-up's rewrite "
        "stays within it."
    )
    max_history_turns: int = Field(
        50, ge=0, le=HISTORY_TURNS_CEILING, description="Earlier messages a request may carry "
        "(`history` of /v1/ask; the messages before the last on /v1/chat/completions): 422 "
        "above."
    )
    max_history_chars: int = Field(
        50_000, ge=0, le=10_000_000, description="Characters of all earlier messages "
        "together: 422 above."
    )

    # HTTP
    api_key: SecretStr | None = Field(None, description="Bearer key the write routes require.")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(
        1, ge=1, le=64, description="Server processes `rag serve` starts (`--workers`); each "
        "holds its own engine and snapshot (docs/operations.md)."
    )
    max_upload_bytes: int = Field(10_000_000, ge=1_000)
    max_body_bytes: int = Field(
        32_000_000, ge=1_000, description="Largest request body (uploads included): 413 above."
    )
    max_header_bytes: int = Field(
        65_536, ge=1_024, le=16_777_216, description="`rag serve`: largest request head (request "
        "line and headers; also chunk framing and trailers): 431 and close above, never buffered.",
    )
    max_headers: int = Field(
        100, ge=10, le=10_000, description="`rag serve`: most header fields a request may send "
        "(trailers included): 431 and close above.",
    )
    header_timeout_seconds: float = Field(
        15.0, gt=0, le=3600, description="`rag serve`: a request's headers must arrive within "
        "this of the connection opening (or the last response), else 408 and close (slowloris).",
    )
    body_timeout_seconds: float = Field(
        60.0, gt=0, le=3600, description="A request's whole body must arrive within this of "
        "the route starting to read it, else 408 and close.",
    )
    keep_alive_seconds: int = Field(
        5, ge=1, le=3600, description="`rag serve`: idle keep-alive connections close after this.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API from other sites, writes included "
        "(none by default: a page of another origin may not POST or DELETE).",
    )
    api_docs: bool = Field(
        True, description="Serve the API reference pages /docs and /redoc (their scripts are "
        "served by this server, never a CDN); /openapi.json is always served.",
    )
    mcp: bool = Field(
        True, description="Serve the MCP server at /mcp (streamable HTTP; api/mcp.py).",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Addresses or networks of proxies whose "
        "X-Forwarded-For names the client (for logs and rate limits); none by default.",
    )

    # Limits and observability
    rate_limit_per_minute: int = Field(
        0, ge=0, le=1_000_000, description="Requests a client may make a minute (0: no limit)."
    )
    rate_limit_burst: int | None = Field(
        None, ge=1, le=1_000_000,
        description="Requests a client may make at once (unset: the per-minute limit).",
    )
    log_format: Literal["json", "text"] = Field(
        "json", description="`rag serve` logs one JSON object a line, or readable text."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Level of newsrag's and uvicorn's loggers (others: WARNING)."
    )

    # LLM (abstractive answers; not used by the extractive default)
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("RAG_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    llm_timeout: float = Field(30.0, gt=0, le=600, description="Seconds an LLM call may take.")
    llm_retries: int = Field(2, ge=0, le=10, description="Retries on 429, 5xx and lost links.")
    llm_fallback: bool = Field(
        True, description="On an LLM failure, answer extractively and say so in the response."
    )

    @field_validator("trusted_proxies", "feeds_allow_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        """Only addresses and networks: a typo must fail at start-up, not trust nobody."""
        for entry in value:
            ipaddress.ip_network(entry, strict=False)  # ValueError: pydantic reports it
        return value

    @field_validator("data_dir")
    @classmethod
    def _directory(cls, value: Path) -> Path:
        """A file where the store should be fails at start-up, not at the first write."""
        if value.exists() and not value.is_dir():
            raise ValueError("exists and is not a directory")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def llm_configured(self) -> bool:
        """An LLM is configured when a server or an OpenAI key is given."""
        return bool(self.llm_base_url or self.openai_api_key)
