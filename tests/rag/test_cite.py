"""Citation verification: supported sentences kept, wrong markers re-pointed, unsupported
sentences dropped, and grounding figures that say so. Real encoder, real sentence splitter."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from index.chunk import chunk_article
from rag.answer import ABSTENTION
from rag.cite import (
    EMBEDDING_THRESHOLD,
    LEXICAL_THRESHOLD,
    PARAPHRASE_EMBEDDING_THRESHOLD,
    PARAPHRASE_LEXICAL_THRESHOLD,
    VerifiedAnswer,
    _term_share,
    numbers_in,
    split_answer,
    stream_sentences,
    verify_citations,
)
from rag.embeddings import Encoder
from rag.judge import Facts
from rag.lexical import LexicalIndex
from rag.reading import read
from rag.schemas import Article, Hit, article_id_for
from support import ROOT

MARKER = re.compile(r"\[(\d+)\]")
STORIES = [  # source 1, 2, 3 in this order
    ("Dockworkers strike at Port Averin", "Harbour Times", dt.date(2024, 3, 4),
     "About 4,000 dockworkers went on strike at Port Averin on Monday over pay. Union leader "
     "Marta Kessling said the striking crews would stay out until wages rose. Container ships "
     "queued outside the harbour."),
    ("Eruption on Ostrova", "Island Courier", dt.date(2024, 1, 15),
     "Lava poured down the slopes of Mount Ostrova overnight. A towering plume of ash forced "
     "airlines to cancel flights across the island, and villagers fled their homes."),
    ("Quillfeather unveils budget", "Capital Ledger", dt.date(2024, 5, 10),
     "Finance minister Aurelia Quillfeather unveiled a budget that cuts fuel taxes. "
     "Quillfeather said the cuts would be paid for by a levy on bank profits. Opposition "
     "parties called the plan reckless."),
]
STRIKE = "About 4,000 dockworkers went on strike at Port Averin over pay"
LAVA = "Lava poured down Mount Ostrova overnight"
LEVY = "Quillfeather said the fuel tax cuts would be paid for by a levy on bank profits"


@pytest.fixture(scope="module")
def passages() -> list[Hit]:
    hits = []
    for title, outlet, published, text in STORIES:
        article = Article(id=article_id_for(text), text=text, title=title, source=outlet,
                          published=published)
        hits += [Hit(chunk=chunk, score=1.0) for chunk in chunk_article(article)]
    assert len(hits) == len(STORIES)
    return hits


@pytest.fixture(scope="module")
def lexical(passages: list[Hit]) -> LexicalIndex:
    return LexicalIndex.of_chunks(hit.chunk for hit in passages)


@pytest.fixture
def verify(passages: list[Hit], lexical: LexicalIndex, encoder: Encoder):
    def run(text: str) -> VerifiedAnswer:
        result = verify_citations(text, passages, encoder, lexical)
        assert_well_formed(result, passages)
        return result
    return run


def assert_well_formed(result: VerifiedAnswer, passages: list[Hit]) -> None:
    """Every marker has its citation, numbered 1..n in order of appearance, with exact spans."""
    markers = [int(n) for n in MARKER.findall(result.text)]
    ids = [c.id for c in result.citations]
    assert ids == list(range(1, len(ids) + 1))
    assert list(dict.fromkeys(markers)) == ids, (result.text, ids)
    for citation in result.citations:
        chunk = next(h.chunk for h in passages if h.chunk.id == citation.chunk_id)
        assert citation.text == chunk.text
        assert citation.quote in citation.text
        assert chunk.text[citation.quote_start - chunk.start:
                          citation.quote_end - chunk.start] == citation.quote
    grounding = result.grounding
    assert grounding.supported + grounding.dropped == grounding.sentences
    assert grounding.repointed <= grounding.supported


def cited_title(result: VerifiedAnswer, sentence: str) -> list[str | None]:
    """Titles of the passages the answer cites for the sentence starting with `sentence`."""
    piece = next(s for s in split_answer(result.text) if s.claim.startswith(sentence))
    by_id = {c.id: c.title for c in result.citations}
    return [by_id[n] for n in piece.cited]


def test_a_supported_answer_is_kept_as_written(verify) -> None:
    result = verify(f"{STRIKE} [1]. {LAVA} [2].")
    assert result.text == f"{STRIKE}. [1] {LAVA}. [2]"
    assert not result.abstained
    g = result.grounding
    assert (g.score, g.supported, g.sentences, g.dropped, g.repointed) == (1.0, 2, 2, 0, 0)
    assert f"{LEXICAL_THRESHOLD:.2f}" in g.method and f"{EMBEDDING_THRESHOLD:.2f}" in g.method
    assert result.citations[0].quote.startswith("About 4,000 dockworkers went on strike")
    assert result.citations[1].quote == "Lava poured down the slopes of Mount Ostrova overnight."


@pytest.mark.parametrize("hallucination", [
    "The strike ended on Friday after the government sent in the army [1].",
    "Aliens landed in the harbour of Port Averin on Monday [1].",
    "Mount Ostrova erupted because of the dockworkers' strike [2].",
], ids=["invented outcome", "invented event", "invented cause"])
def test_a_hallucinated_sentence_is_dropped(verify, hallucination: str) -> None:
    result = verify(f"{STRIKE} [1]. {hallucination}")
    assert result.text == f"{STRIKE}. [1]"
    assert hallucination.split(" [")[0] not in result.text
    g = result.grounding
    assert (g.score, g.supported, g.sentences, g.dropped) == (0.5, 1, 2, 1)


def test_a_changed_number_is_not_supported(verify) -> None:
    result = verify(f"{LAVA} [2]. About 5,000 dockworkers went on strike at Port Averin [1].")
    assert "5,000" not in result.text
    assert result.grounding.dropped == 1


def test_a_marker_to_a_missing_source_is_re_pointed(verify) -> None:
    result = verify(f"{LAVA} [7].")
    assert result.text == f"{LAVA}. [1]"
    assert cited_title(result, LAVA) == ["Eruption on Ostrova"]
    assert (result.grounding.repointed, result.grounding.dropped) == (1, 0)


def test_a_marker_to_a_missing_source_on_an_unsupported_sentence_is_dropped(verify) -> None:
    result = verify(f"{STRIKE} [1]. The harbour will close for a year [9].")
    assert "[9]" not in result.text and "close for a year" not in result.text
    assert result.grounding.dropped == 1
    assert len(result.citations) == 1


def test_a_sentence_citing_the_wrong_source_is_re_pointed(verify) -> None:
    result = verify(f"{STRIKE} [1]. {LEVY} [1].")
    assert cited_title(result, LEVY) == ["Quillfeather unveils budget"]
    assert cited_title(result, STRIKE) == ["Dockworkers strike at Port Averin"]
    g = result.grounding
    assert (g.score, g.supported, g.repointed, g.dropped) == (1.0, 2, 1, 0)
    assert result.citations[1].quote.startswith("Quillfeather said the cuts")


def test_an_unsupported_co_citation_is_removed(verify) -> None:
    result = verify("Quillfeather's budget cuts fuel taxes [1, 3].")
    assert result.text == "Quillfeather's budget cuts fuel taxes. [1]"
    assert cited_title(result, "Quillfeather") == ["Quillfeather unveils budget"]
    assert result.grounding.repointed == 1


@pytest.mark.parametrize("markers", ["[1][2]", "[1, 2]", "[1] [2]"])
def test_a_sentence_joining_two_sources_keeps_both(verify, markers: str) -> None:
    result = verify(f"Dockworkers struck at Port Averin, and lava poured down Mount Ostrova "
                    f"{markers}.")
    assert result.text.endswith("[1][2]")
    assert [c.title for c in result.citations] == ["Dockworkers strike at Port Averin",
                                                   "Eruption on Ostrova"]
    assert (result.grounding.supported, result.grounding.repointed) == (1, 0)


def test_markers_are_renumbered_in_order_of_appearance(verify) -> None:
    result = verify(f"{LEVY} [3]. {LAVA} [2]. Opposition parties called the plan reckless [3].")
    assert result.text == f"{LEVY}. [1] {LAVA}. [2] Opposition parties called the plan " \
                          "reckless. [1]"
    assert [c.title for c in result.citations] == ["Quillfeather unveils budget",
                                                   "Eruption on Ostrova"]


def test_markers_after_the_full_stop_stay_with_their_sentence(verify) -> None:
    result = verify(f"{LAVA}. [2] {STRIKE}. [1]")
    assert result.text == f"{LAVA}. [1] {STRIKE}. [2]"
    assert result.grounding.sentences == 2


def test_a_numbered_list_keeps_its_numbers(verify) -> None:
    result = verify(f"1. {LAVA} [2].\n2. Airlines cancelled flights because of the ash [2].")
    assert result.text == (f"1. {LAVA}. [1]\n2. Airlines cancelled flights because of the "
                           "ash. [1]")
    assert result.grounding.supported == 2


def test_an_uncited_supported_sentence_gets_a_marker(verify) -> None:
    result = verify(f"{LAVA}.")
    assert result.text == f"{LAVA}. [1]"
    assert result.grounding.repointed == 1


def test_the_abstention_reply_is_an_abstention(verify) -> None:
    result = verify("The indexed articles do not cover this question.")
    assert result.abstained and result.text == ABSTENTION and result.citations == []
    g = result.grounding
    assert (g.score, g.supported, g.sentences, g.dropped) == (1.0, 0, 0, 0)


def test_an_answer_with_nothing_supported_abstains_and_says_why(verify) -> None:
    result = verify("Aliens landed in Port Averin [1]. Nobody saw them [2].")
    assert result.abstained and result.text == ABSTENTION and result.citations == []
    g = result.grounding
    assert (g.score, g.supported, g.sentences, g.dropped) == (0.0, 0, 2, 2)


def test_streamed_sentences_match_the_whole_answer() -> None:
    text = (f"Dr. Ruiz said so in the U.S. capital [2]. {LAVA}. [2] {STRIKE} [1].\n\n"
            f"1. {LEVY} [3][1].")
    whole = [(s.claim, s.cited) for s in split_answer(text)]
    for size in (1, 3, 7, 50):
        deltas = [text[i : i + size] for i in range(0, len(text), size)]
        streamed = [(s.claim, s.cited) for s, _ in stream_sentences(deltas)]
        assert streamed == whole, size
    assert len(whole) == 4 and whole[0][0].startswith("Dr. Ruiz")
    gaps = [gap for _, gap in stream_sentences([text])]
    assert gaps[3] == "\n\n"


def test_numbers_are_compared_however_they_are_written() -> None:
    assert numbers_in("About 2,400 on 2025-03-03, at 4.75 percent") == {"2400", "2025", "3",
                                                                        "4.75"}


def test_a_number_written_otherwise_counts_as_a_term_the_passage_holds() -> None:
    passage = "The board voted 5-2 in favour of the increase."
    facts = Facts(readings=(read(passage),), speakers=(None,), metadata=read(""),
                  published=None)
    held = frozenset({"board", "vote", "5", "2", "favour", "increas"})
    assert _term_share({"board", "vote", "five", "two"}, held, facts) == 1.0
    assert _term_share({"board", "vote", "five", "three"}, held, facts) == 0.75


def test_the_thresholds_are_the_calibrated_ones() -> None:
    fitted = json.loads((ROOT / "bench" / "results" / "citation_calibration.json").read_text())
    assert fitted["lexical_threshold"] == LEXICAL_THRESHOLD
    assert fitted["embedding_threshold"] == EMBEDDING_THRESHOLD
    assert fitted["paraphrase_lexical_threshold"] == PARAPHRASE_LEXICAL_THRESHOLD
    assert fitted["paraphrase_embedding_threshold"] == PARAPHRASE_EMBEDDING_THRESHOLD
