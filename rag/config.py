"""Every setting of the service in one place, read from `RAG_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Service configuration; build it once and pass it down (nothing reads the env elsewhere)."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    # Storage
    data_dir: Path = Field(Path("var"), description="Where embedded Chroma keeps its files.")
    collection: str = Field("news", description="Chroma collection name prefix.")
    chroma_url: str | None = Field(None, description="A Chroma server (`chroma run`) instead.")
    lexical_refresh_seconds: float = Field(
        2.0, ge=0.0, le=3600.0, description="How often, at most, a search checks whether "
        "another process changed the store (0: every search); the lexical index then rebuilds."
    )

    # Embedding and chunking
    embed_backend: Literal["onnx", "sentence-transformers"] = Field(
        "onnx", description="all-MiniLM-L6-v2 on onnxruntime (default) or on torch."
    )
    embed_batch_size: int = Field(32, ge=1, le=512)
    chunk_tokens: int = Field(256, ge=32, le=2048, description="Max tiktoken tokens a chunk.")
    chunk_overlap: int = Field(32, ge=0, le=1024, description="Tokens shared by neighbours.")

    # Retrieval
    top_k: int = Field(8, ge=1, le=50, description="Passages an answer draws on by default.")
    candidates: int = Field(50, ge=10, le=500, description="Pool each retriever contributes.")
    dense_weight: float = Field(
        0.3, ge=0.0, le=1.0, description="Share of the dense score in the fused score."
    )
    max_chunks_per_article: int = Field(3, ge=1, le=50)
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
    max_question_chars: int = Field(2000, ge=10, le=100_000)

    # HTTP
    api_key: SecretStr | None = Field(None, description="Bearer key the write routes require.")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    max_upload_bytes: int = Field(10_000_000, ge=1_000)
    max_body_bytes: int = Field(
        32_000_000, ge=1_000, description="Largest request body (uploads included): 413 above."
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API from other sites (none by default).",
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

    @property
    def llm_configured(self) -> bool:
        """An LLM is configured when a server or an OpenAI key is given."""
        return bool(self.llm_base_url or self.openai_api_key)
