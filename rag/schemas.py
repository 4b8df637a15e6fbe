"""The shapes everything passes around: articles, chunks, search hits, citations, answers."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
)


def article_id_for(text: str) -> str:
    """A stable id for an article: the hash of its cleaned text (unchanged text, same id)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class Article(BaseModel):
    """One news story, cleaned, with the metadata citations show."""

    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    title: str | None = None
    source: str | None = None
    published: dt.date | None = None
    url: str | None = None
    author: str | None = None
    path: str | None = Field(None, description="The file it was read from (its real path).")
    filename: str | None = Field(None, description="The name an upload was sent under.")
    raw_text: str | None = Field(
        None, description="The file's text this article was cleaned from, when it differs."
    )
    story_id: str | None = Field(
        None, description="The story it carries: the id of the story's first stored copy "
        "(index/stories.py); None for an article stored before stories were kept.")
    signature: str | None = Field(
        None, description="Its MinHash signature, packed (index/stories.py).")


class Statement(BaseModel):
    """A sentence an article attributes to someone: who, how, to whom (`index/speakers.py`).

    `start`/`end` are the sentence's article offsets (within its chunk); `speaker` is the name
    the article gives, `roles` and `aliases` the titles and other names it uses for them.
    """

    model_config = ConfigDict(frozen=True)

    start: int
    end: int
    speaker: str
    kind: Literal["direct", "reported"] = Field(
        description="direct: the sentence quotes the speaker; reported: it paraphrases them.")
    cue: str = Field(description="The reporting verb or phrase: said, told, according to ...")
    roles: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    audience: str | None = Field(None, description="Whom it was said to, when the text says "
                                                   "(told Sky News).")
    organisation: bool = False


class Chunk(BaseModel):
    """A passage of an article; `text == article.text[start:end]` always holds."""

    model_config = ConfigDict(frozen=True)

    id: str
    article_id: str
    ordinal: int
    text: str
    start: int
    end: int
    title: str | None = None
    source: str | None = None
    published: dt.date | None = None
    url: str | None = None
    sentences: tuple[tuple[int, int], ...] = Field(
        default=(), description="Sentence spans inside the chunk, as article offsets."
    )
    speakers: tuple[str | None, ...] = Field(
        default=(), description="Who spoke each sentence (None: reports no speech), or empty."
    )
    statements: tuple[Statement, ...] = Field(
        default=(), description="The chunk's attributed sentences as statement records."
    )
    story_id: str | None = Field(
        None, description="Its article's story (`Article.story_id`); None: its own.")

    @property
    def story(self) -> str:
        """The story this passage belongs to: its article's, or the article itself."""
        return self.story_id or self.article_id

    def speaker_of(self, start: int, end: int) -> str | None:
        """The speaker of the sentence at these offsets, if the article says who spoke it."""
        for (s, e), speaker in zip(self.sentences, self.speakers, strict=False):
            if (s, e) == (start, end):
                return speaker
        return None


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    """A date, or its ISO text (YYYY-MM-DD) read as one: left to itself, pydantic reads a
    number, or text such as "0", as a Unix time (1970-01-01), where the API schema says date;
    and a strict model takes no text for a date, where JSON has no other way to send one."""
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return dt.date.fromisoformat(value)  # ValueError for 2025-02-30: pydantic reports it
    raise ValueError("expected a date as YYYY-MM-DD")


# A date a client sends (filters, an article's `published`): YYYY-MM-DD only.
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]


# Filter sizes a request may send (docs/operations.md, Limits): enough for every outlet and a
# page of articles, few enough that matching them costs nothing next to the search.
MAX_FILTER_VALUES = 1000
MAX_SOURCE_CHARS = 300  # as an article's `source` (api/routes/documents.py)
MAX_ARTICLE_ID_CHARS = 128
SourceName = Annotated[str, StringConstraints(max_length=MAX_SOURCE_CHARS)]
ArticleId = Annotated[str, StringConstraints(max_length=MAX_ARTICLE_ID_CHARS)]


def _listed(value: object) -> object:
    return [value] if isinstance(value, str) else value


_SOURCE_NAME_SCHEMA = {"type": "string", "maxLength": MAX_SOURCE_CHARS}
# One outlet name or a list of them, read as a list (so a name too long is reported as such,
# not as "not a list"); the schema says both.
Sources = Annotated[
    list[SourceName], BeforeValidator(_listed), Field(max_length=MAX_FILTER_VALUES),
    WithJsonSchema({"anyOf": [{"type": "array", "items": _SOURCE_NAME_SCHEMA,
                               "maxItems": MAX_FILTER_VALUES}, _SOURCE_NAME_SCHEMA]}),
]


class Filters(BaseModel):
    """Restrict a search to some outlets, a publication date range, or named articles."""

    model_config = ConfigDict(extra="forbid", strict=True)

    source: Sources | None = Field(
        None, description=f"Outlet name(s), exact match (at most {MAX_FILTER_VALUES}).")
    published_from: IsoDate | None = None
    published_to: IsoDate | None = None
    article_ids: list[ArticleId] | None = Field(None, max_length=MAX_FILTER_VALUES)

    def sources(self) -> list[str]:
        """The outlet filter as a list (the API accepts one name or several)."""
        return list(self.source or [])

    def is_empty(self) -> bool:
        return not (self.sources() or self.published_from or self.published_to
                    or self.article_ids)


class Hit(BaseModel):
    """A retrieved chunk, its scores and the per-retriever evidence behind them.

    `score` orders the results (the re-ranked score where the second stage ran, rag/rerank.py,
    and falls with rank); `fused` is the first stage's score, which the extractive answerer
    weighs passages by (its calibration was fitted on it). They are equal without re-ranking.
    """

    chunk: Chunk
    score: float
    fused: float = Field(default_factory=lambda data: data["score"])
    dense: float = 0.0
    lexical: float = 0.0
    rank: int = 0
    # Each of the chunk's sentences' cosine to the question (its sentence vectors, in the
    # order of `chunk.sentences`); empty without them. The extractive answerer reads it.
    meaning: tuple[float, ...] = ()


class Carrier(BaseModel):
    """Another outlet's copy of a cited story (a syndicated or lightly edited copy)."""

    article_id: str
    outlet: str | None
    title: str | None
    published: dt.date | None
    url: str | None


class Citation(BaseModel):
    """A `[n]` marker's target: the verbatim passage and the span that supports the claim."""

    id: int
    chunk_id: str
    article_id: str
    title: str | None
    source: str | None
    published: dt.date | None
    url: str | None
    text: str = Field(description="The verbatim passage: article text[start:end].")
    quote: str = Field(description="The supporting span, verbatim inside `text`.")
    start: int
    end: int
    quote_start: int = Field(description="Offset of `quote` in the article text.")
    quote_end: int
    speaker: str | None = Field(None, description="Who the article says spoke the quote.")
    score: float
    also_carried_by: list[Carrier] = Field(
        default_factory=list, description="The story's other copies, by other outlets or "
        "under other headlines, earliest first: the same story is cited once.")


class Context(BaseModel):
    """A retrieved passage handed to the answerer (evaluation scripts score these)."""

    chunk_id: str
    article_id: str
    title: str | None
    source: str | None
    published: dt.date | None
    text: str
    start: int
    end: int
    score: float
    rank: int
    url: str | None = None
    speakers: list[str] = Field(
        default_factory=list,
        description="Who the article says spoke the passage's sentences, in order, each once.")


GroundingReason = Literal[
    "supported", "no_citation", "wrong_citation", "number_mismatch", "date_mismatch",
    "wrong_speaker", "entity_not_in_source", "entity_mismatch", "negation", "contradiction",
    "quantifier", "modality", "low_overlap",
]


class SentenceVerdict(BaseModel):
    """The grounding judge's verdict on one answer sentence (docs/citation-verification.md)."""

    text: str = Field(description="The sentence, without its markers.")
    citations: list[int] = Field(description="The sources its markers name, as written.")
    supported: bool
    supported_by: list[int] = Field(description="The sources that state what it says.")
    reason: GroundingReason = Field(
        description="supported; or why not: no_citation (it cites nothing), wrong_citation "
                    "(another source supports it), number_mismatch, date_mismatch, "
                    "wrong_speaker, entity_not_in_source, entity_mismatch (another name in "
                    "the same place), negation, contradiction (opposite words), quantifier "
                    "(an absolute the source does not state), modality (a plan or condition "
                    "stated as fact), low_overlap (the source is about something else).")
    detail: str = Field("", description="What showed the reason, in words.")
    quote: str | None = Field(None, description="The source sentence it was checked against.")
    markers: list[int] = Field(
        default_factory=list,
        description="In /v1/ask: the citation ids the shown answer gives it (empty: dropped).")


class Grounding(BaseModel):
    """How much of the answer its citations support, and how that was decided."""

    score: float
    supported: int
    sentences: int
    dropped: int = 0
    repointed: int = Field(0, description="Kept sentences whose citation markers were changed.")
    method: str = "extractive: every sentence is a verbatim span of its cited passage"
    verdicts: list[SentenceVerdict] = Field(
        default_factory=list,
        description="LLM answers: each sentence the model wrote, kept or dropped, and why; "
                    "`citations` and `supported_by` number sources as `contexts` does.")


class Conflict(BaseModel):
    """Where the cited sources disagree, found from their quotes and metadata (rag/conflicts.py)."""

    kind: Literal["figures", "over_time"] = Field(
        description="figures: articles give different numbers for the same thing; over_time: "
                    "one speaker quoted from articles of different dates.")
    citations: list[int] = Field(description="The `[n]` markers of the disagreeing passages.")
    summary: str = Field(description="One sentence saying what differs, with the markers.")


class Notice(BaseModel):
    """Why an answer is not what was asked for, e.g. the LLM failed and extractive answered."""

    code: str = Field(description="The error code the failure would have given, e.g. "
                                  "llm_timeout.")
    message: str


class Turn(BaseModel):
    """One message of a conversation: what a follow-up question is read against."""

    role: Literal["user", "assistant", "system"]
    content: str


class TimeReading(BaseModel):
    """The time words of a question and what they were read as: a range of publication dates
    or the newest articles first (docs/answering.md, "Time in questions")."""

    phrase: str = Field(description="The words of the question read: \"in 2024\", "
                                    "\"last week\", \"latest\".")
    published_from: dt.date | None = Field(None, description="First publication date read "
                                                             "(inclusive; null: open).")
    published_to: dt.date | None = Field(None, description="Last publication date read "
                                                           "(inclusive; null: open).")
    newest_first: bool = Field(False, description="The question asks for the newest reports: "
                                                  "passages are ordered by date as well.")
    anchor: dt.date = Field(description="The date relative words count from: the newest "
                                        "article's, or today's (RAG_TIME_ANCHOR).")
    anchor_kind: Literal["corpus", "today"]
    applied: bool = Field(description="Whether the range was searched: false when the "
                                      "request's `filters` set dates (those win).")
    reported_later: bool = Field(
        False, description="No article published in the range answered, and the answer is "
                           "from articles published after its start (an event of the range "
                           "reported later), as the answer's first words say; `filters` shows "
                           "what was searched.")


class Answer(BaseModel):
    """What `/v1/ask` returns."""

    answer: str
    abstained: bool
    citations: list[Citation]
    contexts: list[Context]
    grounding: Grounding
    mode: Literal["extractive", "llm"]
    evidence_score: float = Field(description="The score the abstention threshold is set on.")
    question_coverage: float = Field(
        description="Share of the question's terms the retrieved passages hold."
    )
    timings_ms: dict[str, float] = Field(default_factory=dict)
    notice: Notice | None = Field(
        None, description="Set when the LLM failed: the answer fell back to extractive, or a "
                          "stream stopped early.")
    conflicts: list[Conflict] = Field(
        default_factory=list, description="Disagreements among the cited sources; an "
                                          "extractive answer also ends with their summaries.")
    standalone_question: str | None = Field(
        None, description="What was searched: the question, rewritten to stand alone when "
                          "it followed earlier turns of a conversation."
    )
    filters: Filters | None = Field(
        None, description="The filters searched: the request's, with the publication-date "
                          "range read from the question's time words (`time`) unless the "
                          "request set dates.")
    time: TimeReading | None = Field(
        None, description="The question's time words and the range or order read from them "
                          "(null: none were read).")
    abstention_reason: Literal["not_a_speaker", "no_statement_on_topic"] | None = Field(
        None, description="Why a question about what someone said was not answered: the "
                          "articles quote no such speaker, or none of their statements is on "
                          "the topic (or to the audience) asked about.")
