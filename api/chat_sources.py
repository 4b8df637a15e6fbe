"""A chat answer's citations in the shape Open WebUI's source chips read (`source`, `document`,
`metadata`, one passage each), so its chips show outlet, title and passage; the chat route sends
them beside `citations` (docs/integrations.md, "Open WebUI")."""

from __future__ import annotations

from pydantic import BaseModel, Field

from rag.schemas import Citation

# Between the outlet and the title in a chip's label.
LABEL_SEPARATOR = " — "


class SourceRef(BaseModel):
    """What the chip names: the article, labelled by outlet and title, with its address."""

    id: str = Field(description="The cited passage's chunk id.")
    name: str = Field(description="The chip's label: 'Outlet — Title'.")
    url: str | None = Field(None, description="The article's address, when it has one.")


class SourceMetadata(BaseModel):
    """One passage's details; `source` is the key Open WebUI groups passages into chips by."""

    source: str = Field(description="Unique to the citation: '<chunk_id>#<n>'.")
    name: str = Field(description="The chip's label, as in `source.name`.")
    citation: int = Field(description="The `[n]` marker this passage is the target of.")
    outlet: str | None
    title: str | None
    published: str | None = Field(description="The article's date, ISO 8601.")
    url: str | None
    chunk_id: str
    article_id: str
    quote: str = Field(description="The supporting span, verbatim inside the passage.")
    speaker: str | None = None


class ChatSource(BaseModel):
    """One citation as Open WebUI reads a source: `document` holds the passage's text."""

    source: SourceRef
    document: list[str] = Field(description="The verbatim passage, one item.")
    metadata: list[SourceMetadata] = Field(description="The passage's details, one item.")


def label(citation: Citation) -> str:
    """'Outlet — Title' for a citation; whichever of the two it has when it lacks one, and
    'Untitled article' when it has neither."""
    parts = [p for p in (citation.source, citation.title) if p]
    return LABEL_SEPARATOR.join(parts) or "Untitled article"


def chat_source(citation: Citation) -> ChatSource:
    """The source Open WebUI shows for one `[n]` citation."""
    name = label(citation)
    published = citation.published.isoformat() if citation.published else None
    metadata = SourceMetadata(
        source=f"{citation.chunk_id}#{citation.id}", name=name, citation=citation.id,
        outlet=citation.source, title=citation.title, published=published, url=citation.url,
        chunk_id=citation.chunk_id, article_id=citation.article_id, quote=citation.quote,
        speaker=citation.speaker)
    return ChatSource(source=SourceRef(id=citation.chunk_id, name=name, url=citation.url),
                      document=[citation.text], metadata=[metadata])


def chat_sources(citations: list[Citation]) -> list[ChatSource]:
    """Sources in marker order, so Open WebUI's n-th chip is the target of `[n]`."""
    return [chat_source(c) for c in sorted(citations, key=lambda c: c.id)]
