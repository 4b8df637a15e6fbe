"""The engine's settings (storage, embedding, ingestion, retrieval, answering, the LLM), read
from `RAG_*` environment variables; the HTTP server's own are `api.settings.ServerSettings`."""

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
    """The engine's configuration; build it once and pass it down (nothing reads the
    environment elsewhere)."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore",
                                      populate_by_name=True)

    # Storage
    data_dir: Path = Field(
        Path("var"), description=(
            "Where embedded Chroma keeps its files (`chroma/`), with the article texts and "
            "sentence vectors beside them (`blobs/`), and the saved search snapshots "
            "(`snapshots/`)."))
    collection: str = Field(
        "news", description=(
            "Chroma collection name prefix (`news_chunks`, `news_article_records`)."))
    chroma_url: str | None = Field(
        None, description=(
            "A Chroma server (`chroma run`) instead of the embedded store."))
    partitions: list[str] = Field(
        default_factory=list, description=(
            "Split the corpus by publication month over these partitions, each a Chroma "
            "server URL (`[\"http://10.0.0.5:8000\", ...]`) or a collection prefix in this "
            "store; searched through one router (docs/operations.md, \"Partitions\"). Empty: "
            "one store."))
    store_wait_seconds: float = Field(
        3600.0, ge=0.0, le=7 * 86400.0, description=(
            "How long a command waits while another holds the embedded store (0: fail at once)."))
    snapshot_refresh_seconds: float = Field(
        2.0, ge=0.0, le=3600.0,
        validation_alias=AliasChoices("RAG_SNAPSHOT_REFRESH_SECONDS",
                                      "RAG_LEXICAL_REFRESH_SECONDS"), description=(
            "How often, at most, a search checks whether another process (a replica sharing "
            "the Chroma server, or `rag index` against it) changed the store; the search "
            "snapshot (chunks, vectors, BM25) is then brought up to date (0: every search; "
            "docs/operations.md). The second name is the setting's former one."))

    # Embedding and chunking
    embed_backend: Literal["onnx", "sentence-transformers"] = Field(
        "onnx", description=(
            "`onnx` (default, no torch) or `sentence-transformers` (extra `torch`)."))
    text_encoder: Literal["int8", "same"] = Field(
        "int8", validation_alias=AliasChoices("RAG_TEXT_ENCODER", "RAG_QUESTION_ENCODER"),
        description=(
            "`int8`: questions, and at ingestion chunks and sentences, embedded by the model "
            "quantized dynamically, one text a run (vectors at cosine 0.99 to the shipped "
            "model's; docs/benchmarks.md, \"The question encoder\"); `same`: by the documents' "
            "encoder (`RAG_EMBED_BACKEND`). The second name is the setting's former one."))
    model_cache_dir: Path = Field(
        default_factory=default_model_cache, description=(
            "Where the int8 text encoder is kept once derived from the shipped model (a "
            "few seconds, on first use; `$XDG_CACHE_HOME/newsrag` when that is set)."))
    embed_batch_size: int = Field(
        32, ge=1, le=512, description=(
            "Texts per encoder call."))
    chunk_tokens: int = Field(
        256, ge=32, le=2048, description=(
            "Maximum tiktoken (`cl100k_base`) tokens a chunk."))
    chunk_overlap: int = Field(
        32, ge=0, le=1024, description=(
            "Tokens neighbouring chunks share."))
    syndication: bool = Field(
        True, description=(
            "Fold lightly edited copies of a story (syndicated, re-headlined, trimmed) into one "
            "story at ingestion (docs/ingestion.md, \"Syndicated copies\"); off: each copy is "
            "a story of its own."))

    # Ingestion limits (docs/operations.md, "Ingestion limits")
    max_file_bytes: int = Field(
        10000000, ge=1000, description=(
            "Largest file `rag index` reads whole (text, Markdown, HTML, JSON; larger ones are "
            "skipped with the reason); a JSON Lines feed is read a line at a time, each line "
            "at most this."))
    max_article_chars: int = Field(
        5000000, ge=1000, description=(
            "Longest article text indexed (longer ones are skipped with the reason)."))

    # Feed subscriptions (`rag watch`; docs/operations.md, "Feed subscriptions")
    max_feeds: int = Field(
        500, ge=1, le=100000, description=(
            "Feed subscriptions a store may hold (`POST /v1/feeds` past it: 422)."))
    feed_max_bytes: int = Field(
        5000000, ge=1000, le=100000000, description=(
            "`rag watch`: largest feed or page downloaded (a larger one is that feed's failure "
            "or that entry's skip)."))
    feed_timeout_seconds: float = Field(
        20.0, gt=0, le=600, description=(
            "`rag watch`: time one download (a feed or a page, redirects included) may take, "
            "from the first connection to the last byte."))
    feed_max_redirects: int = Field(
        5, ge=0, le=20, description=(
            "`rag watch`: redirects one download may follow, each hop checked against the "
            "private-address rule."))
    feed_max_entries: int = Field(
        100, ge=1, le=10000, description=(
            "Entries read from one feed a poll (the first, newest, ones)."))
    feeds_allow_private: bool = Field(
        False, description=(
            "Let `rag watch`, `rag index URL` and `POST /v1/documents {url}` fetch at private, "
            "loopback, link-local and other non-public addresses (refused by default: SSRF)."))
    feeds_allow_networks: list[str] = Field(
        default_factory=list, description=(
            "Non-public addresses or networks fetches may reach all the same "
            "(`[\"127.0.0.1\"]`), where RAG_FEEDS_ALLOW_PRIVATE would allow them all."))
    fetch_host_delay_seconds: float = Field(
        1.0, ge=0.0, le=3600.0, description=(
            "Politeness: the least time from one answer of a host to the next request to it "
            "(longer when its robots.txt asks for a Crawl-delay, up to a minute)."))
    fetch_robots: bool = Field(
        True, description=(
            "Obey robots.txt (read once a day a host, kept with the feed)."))
    feed_retry_seconds: float = Field(
        300.0, ge=0.0, le=86400.0, description=(
            "Backoff after a failed feed poll or page download: this, doubled with each failure "
            "in a row, at most a day (0: no backoff)."))
    sitemap_max_files: int = Field(
        20, ge=1, le=1000, description=(
            "Sitemaps read from one sitemap index a poll (its children, and theirs: two levels "
            "at most)."))
    watch_interval_seconds: float = Field(
        900.0, ge=WATCH_INTERVAL_RANGE[0], le=WATCH_INTERVAL_RANGE[1], description=(
            "`rag watch` without `--once`: seconds between the starts of two polls."))

    # Retrieval
    top_k: int = Field(
        8, ge=1, le=50, description=(
            "Passages an answer draws on (a request may ask for 1..50)."))
    candidates: int = Field(
        50, ge=10, le=500, description=(
            "Candidates each retriever contributes before fusion."))
    exact_search_max_chunks: int = Field(
        20000, ge=0, description=(
            "Up to this many chunks dense search scans every vector in memory (exact); above "
            "it Chroma's HNSW index finds the candidates (docs/benchmarks.md)."))
    dense_weight: float = Field(
        0.3, ge=0.0, le=1.0, description=(
            "Share of the dense score in the fused score (calibrated: docs/evaluation.md)."))
    max_chunks_per_article: int = Field(
        3, ge=1, le=50, description=(
            "Passages one article may contribute to a top k."))
    rerank_depth: int = Field(
        30, ge=0, le=500, description=(
            "Fused candidates re-scored by their best sentence and question clause, named "
            "outlets first (0: off; docs/answering.md, \"Re-ranking\")."))
    sentence_weight: float = Field(
        0.4, ge=0.0, le=1.0, description=(
            "Share of the best sentence's coverage of the question in the re-ranked score "
            "(calibrated)."))
    clause_weight: float = Field(
        0.2, ge=0.0, le=1.0, description=(
            "Share of the best coverage of one question clause in the re-ranked score "
            "(calibrated)."))
    sentence_vectors: bool = Field(
        True, description=(
            "Embed every sentence on its own at ingestion and let the re-ranker and the "
            "answerer read what sentences mean (docs/evaluation.md, \"Sentence vectors\"); "
            "`false`: chunks only."))
    sentence_cache: int = Field(
        10_000, ge=0, le=10_000_000, description=(
            "Chunks whose sentence vectors a process keeps in memory once a question has read "
            "them from the store, least recently used dropped first (each ~3.4 KB; 0: every "
            "question reads them; docs/operations.md, \"Where texts and sentence vectors are "
            "kept\")."))
    sentence_vector_weight: float = Field(
        0.0, ge=0.0, le=5.0, description=(
            "Weight of a passage's best sentence cosine to the whole question, added to its "
            "sentence coverage (calibrated)."))
    clause_vector_weight: float = Field(
        1.5, ge=0.0, le=5.0, description=(
            "Weight of a passage's best (sentence, question clause) cosine, added to its "
            "clause coverage (calibrated)."))
    date_boost: float = Field(
        0.3, ge=0.0, le=1.0, description=(
            "Fused-score bonus for passages published within a day of a date the question "
            "names (calibrated)."))
    time_anchor: Literal["corpus", "today"] = Field(
        "corpus", description=(
            "What a question's relative time words (\"last week\", \"in March\") count from: "
            "the newest article's publication date in the store (`corpus`), or `today` "
            "(docs/answering.md, \"Time in questions\")."))
    recency_weight: float = Field(
        0.3, ge=0.0, le=1.0, description=(
            "For questions asking for the latest reports: bonus, on the passages' scores, of "
            "the newest passage among those retrieved over the oldest."))
    outlet_boost: float = Field(
        0.3, ge=0.0, le=1.0, description=(
            "Fused-score bonus for passages from an outlet the question names (calibrated)."))

    # Answering
    answer_sentences: int = Field(
        5, ge=1, le=20, description=(
            "Most sentences an extractive answer quotes."))
    abstain_threshold: float = Field(
        0.47, ge=0.0, le=1.0, description=(
            "Evidence score below which the answer abstains (calibrated: docs/evaluation.md)."))
    min_question_coverage: float = Field(
        0.55, ge=0.0, le=1.0, description=(
            "Share of the question's terms the passages must hold, else it abstains."))
    max_question_chars: int = Field(
        2000, ge=10, le=QUESTION_CHARS_CEILING, description=(
            "Longest question accepted."))
    max_history_turns: int = Field(
        50, ge=0, le=HISTORY_TURNS_CEILING, description=(
            "Earlier messages a request may carry (`history`, or the chat messages before the "
            "question)."))
    max_history_chars: int = Field(
        50000, ge=0, le=10000000, description=(
            "Characters of all earlier messages together (each earlier user message is also "
            "held to `RAG_MAX_QUESTION_CHARS`)."))

    # LLM (abstractive answers; not used by the extractive default)
    llm_base_url: str | None = Field(
        None, description=(
            "An OpenAI-compatible server (vLLM, Ollama, llama.cpp …) for abstractive answers; "
            "with it or a key set, `mode: \"auto\"` answers through the LLM."))
    llm_model: str = Field(
        "gpt-4o-mini", description=(
            "The model asked there."))
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("RAG_OPENAI_API_KEY", "OPENAI_API_KEY"), description=(
            "Key for OpenAI (a local server needs none)."))
    llm_timeout: float = Field(
        30.0, gt=0, le=600, description=(
            "Seconds an LLM call (or a pause in its stream) may take."))
    llm_retries: int = Field(
        2, ge=0, le=10, description=(
            "Retries on 429, 5xx and lost connections, with backoff."))
    llm_fallback: bool = Field(
        True, description=(
            "On an LLM failure answer extractively, saying so in `notice`; `false`: a "
            "502/503/504 error."))

    @field_validator("feeds_allow_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        """Only addresses and networks: a typo must fail at start-up, not allow nobody."""
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

    @property
    def llm_configured(self) -> bool:
        """An LLM is configured when a server or an OpenAI key is given."""
        return bool(self.llm_base_url or self.openai_api_key)
