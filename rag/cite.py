"""Citation verification: each sentence of a generated answer is judged against the passages it
cites (the first gate: shared terms, numbers, embedding cosine; then the meaning checks of
`rag.judge`), kept, re-pointed to a passage that supports it, or dropped, and the grounding
says what changed. docs/citation-verification.md gives the thresholds and what they measured.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from rag.answer import ABSTENTION
from rag.embeddings import Encoder
from rag.judge import Attribute, Facts, Finding, cheap_finding, finding, readings
from rag.lexical import LexicalView
from rag.reading import Reading, read
from rag.schemas import Chunk, Citation, Grounding, Hit, SentenceVerdict
from rag.sentences import sentence_spans

LEXICAL_THRESHOLD = 0.68
EMBEDDING_THRESHOLD = 0.53
# A claim this near in meaning to its passage may share fewer of its words (a paraphrase in
# other words), but not fewer than this share.
PARAPHRASE_EMBEDDING_THRESHOLD = 0.78
PARAPHRASE_LEXICAL_THRESHOLD = 0.37
# What the prompt tells the model to reply when the sources do not answer (prompts/).
ABSTENTION_REPLY = "The indexed articles do not cover this question."

_MARKER = r"\[\s*\d+(?:\s*,\s*\d+)*\s*\]"
_MARKERS = re.compile(rf"(?:\s*{_MARKER})+")
_LEADING_MARKERS = re.compile(rf"(?:{_MARKER}\s*)+")
_DIGITS = re.compile(r"\d+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_LIST_ITEM = re.compile(r"^(?:[-*•]|\d{1,2}[.)])\s+")
# Where a sentence that joins facts from two sources splits into its facts.
_CLAUSE_BREAK = re.compile(r"\s*;\s*|,?\s+(?:and|but|while|whereas)\s+(?=\w+\s+\w+)")


@dataclass(frozen=True)
class Sentence:
    """One sentence of a generated answer, as written (markers included), with its offsets."""

    text: str
    start: int
    end: int

    @property
    def shown(self) -> str:
        """The sentence without its markers, as the answer shows it."""
        return " ".join(_MARKERS.sub("", self.text).split())

    @property
    def claim(self) -> str:
        """What the sources must support: the sentence without markers or list numbering."""
        return _LIST_ITEM.sub("", self.shown)

    @property
    def cited(self) -> list[int]:
        """The source numbers its markers give, in order, without repeats."""
        numbers = (int(n) for marker in re.findall(_MARKER, self.text)
                   for n in _DIGITS.findall(marker))
        return list(dict.fromkeys(numbers))


def split_answer(text: str) -> list[Sentence]:
    """The answer's sentences. Markers a splitter leaves at the start of the next sentence
    ("... said. [1] Then ...") go back to the sentence they close, and letterless pieces such
    as list numbers ("1.") join the sentence they introduce."""
    sentences: list[Sentence] = []
    prefix: int | None = None
    for start, end in sentence_spans(text):
        leading = _LEADING_MARKERS.match(text, start, end)
        if leading and sentences:
            closing = start + len(leading.group().rstrip())
            last = sentences[-1]
            sentences[-1] = Sentence(text[last.start : closing], last.start, closing)
            start = leading.end()
        if start >= end:
            continue
        if not any(ch.isalpha() for ch in _MARKERS.sub("", text[start:end])):
            prefix = start if prefix is None else prefix
            continue
        if prefix is not None:
            start, prefix = prefix, None
        sentences.append(Sentence(text[start:end], start, end))
    return sentences


def stream_sentences(deltas: Iterable[str]) -> Iterator[tuple[Sentence, str]]:
    """Sentences from streamed text as soon as each is known to be complete (the next one has
    begun, or the stream ended), each with the whitespace before it."""
    buffer = ""
    for delta in deltas:
        buffer += delta
        complete = split_answer(buffer)[:-1]
        previous = 0
        for sentence in complete:
            yield sentence, buffer[previous : sentence.start]
            previous = sentence.end
        buffer = buffer[previous:]
    previous = 0
    for sentence in split_answer(buffer):
        yield sentence, buffer[previous : sentence.start]
        previous = sentence.end


def is_abstention(sentence: Sentence) -> bool:
    """Whether the model gave the prompt's reply for sources that do not answer."""
    def bare(text: str) -> str:
        return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())
    return bare(sentence.claim).startswith(bare(ABSTENTION_REPLY))


@dataclass(frozen=True)
class Support:
    """How well one passage (source number `source`) supports one claim, and the verdict."""

    source: int
    lexical: float  # share of the claim's content terms the passage holds
    cosine: float  # to the passage sentence nearest the claim
    quote: tuple[int, int]  # that sentence, as article offsets
    missing_numbers: frozenset[str]  # numbers the claim states and the passage does not
    reason: str = "supported"  # "supported", or a reason of rag.judge.REASONS
    detail: str = ""  # what showed the reason, in words

    @property
    def holds(self) -> bool:
        return self.reason == "supported"


# Reasons drawn from the sentences a claim is aligned to (not from the passage as a whole).
SENTENCE_REASONS = frozenset({"number_mismatch", "wrong_speaker", "entity_mismatch", "negation",
                              "contradiction", "quantifier", "modality"})
# Where a claim splits into the facts it joins; a piece with fewer content words than this
# joins its neighbour ("names, phone numbers and card details" stays one).
_CLAUSE_SPLIT = re.compile(r"\s*[;:]\s*|,\s*|\s+[-–—]\s+"
                           r"|\s+(?:and|but|while|whereas|although|though|because)\s+")
MIN_CLAUSE_TERMS = 3
# Sentences of a passage a claim may be aligned to one clause of.
PART_SENTENCES = 3


class _Claim:
    """A claim as the judge reads it once for every passage: its terms, reading and vector;
    its speaker and clause vectors only when a passage needs them."""

    def __init__(self, text: str, terms: set[str], reading: Reading, vector: np.ndarray) -> None:
        self.text, self.terms, self.reading, self.vector = text, terms, reading, vector
        self._speaker: list[str | None] = []
        self._clauses: list[tuple[str, np.ndarray]] | None = None

    def speaker(self, attribute: Callable[[str], str | None]) -> str | None:
        if not self._speaker:
            self._speaker.append(attribute(self.text))
        return self._speaker[0]

    def clauses(self, encoder: Encoder) -> list[tuple[str, np.ndarray]]:
        if self._clauses is None:
            texts = claim_clauses(self.text)
            vectors = encoder.embed(texts) if len(texts) > 1 else [self.vector]
            self._clauses = list(zip(texts, vectors, strict=True))
        return self._clauses


def claim_clauses(text: str) -> list[str]:
    """A sentence's clauses: split at semicolons, commas, dashes and conjunctions, each piece
    with fewer than `MIN_CLAUSE_TERMS` content words joined to the one before it (the first
    to the one after it)."""
    bounds = [0]
    for match in _CLAUSE_SPLIT.finditer(text):
        bounds += [match.start(), match.end()]
    bounds.append(len(text))
    pieces = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)
              if bounds[i + 1] > bounds[i]]
    merged: list[tuple[int, int]] = []
    for start, end in pieces:
        if merged and (len(read(text[start:end]).stems) < MIN_CLAUSE_TERMS
                       or len(read(text[slice(*merged[-1])]).stems) < MIN_CLAUSE_TERMS):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return [text[start:end] for start, end in merged]


@dataclass(frozen=True)
class _Alignment:
    """The passage sentences a claim is about: how near (cosine), which (nearest first), and
    those of them that state every part of the claim on their own."""

    cosine: float
    evidence: tuple[int, ...]
    alone: tuple[int, ...]


def _term_share(terms: set[str] | frozenset[str], held: frozenset[str], facts: Facts) -> float:
    """The share of a claim's terms a passage holds; a number the claim writes otherwise than
    the passage ("five to two" for "5-2", "eighteen" for "18") is held when the passage
    states its value."""
    if not terms:
        return 0.0
    found = sum(term in held or bool(read(term).numbers and read(term).numbers <= facts.numbers)
                for term in terms)
    return found / len(terms)


def _whole(cosines: np.ndarray, claim: Reading, facts: Facts) -> _Alignment:
    """The claim aligned whole: its nearest sentence, and those nearly as near or holding its
    other terms."""
    best = int(np.argmax(cosines))
    evidence = tuple(_evidence(cosines, best, claim, facts))
    alone = tuple(i for i in evidence if cosines[i] >= cosines[best] - EVIDENCE_COSINE_MARGIN
                  and _covers(facts.readings[i], claim, facts))
    return _Alignment(float(cosines[best]), evidence, alone)


def _covers(sentence: Reading, claim: Reading, facts: Facts) -> bool:
    """Whether one sentence (with the title, outlet and date) holds the claim's content words
    as the whole passage must (`LEXICAL_THRESHOLD`)."""
    stems = claim.stems
    held = sentence.stems | facts.metadata.stems
    return bool(stems) and len(stems & held) >= LEXICAL_THRESHOLD * len(stems)


@dataclass(frozen=True)
class Thresholds:
    """When a passage is about a claim: it holds `lexical` of the claim's terms, or
    `paraphrase_lexical` of them when the claim is at cosine `paraphrase_embedding` or more;
    and the claim is at cosine `embedding` or more (docs/citation-verification.md)."""

    lexical: float = LEXICAL_THRESHOLD
    embedding: float = EMBEDDING_THRESHOLD
    paraphrase_lexical: float = PARAPHRASE_LEXICAL_THRESHOLD
    paraphrase_embedding: float = PARAPHRASE_EMBEDDING_THRESHOLD

    def about(self, lexical: float, cosine: float) -> bool:
        """Whether the term share and cosine pass (numbers are checked apart)."""
        return cosine >= self.embedding and (lexical >= self.lexical or (
            lexical >= self.paraphrase_lexical and cosine >= self.paraphrase_embedding))


@dataclass(frozen=True)
class Judgement:
    """What the passages say of one answer sentence."""

    cited: list[int]  # the sources its markers name that exist
    chosen: list[Support]  # the sources that support it: its own, else re-pointed, else none
    checked: Support | None  # what its verdict rests on: the first chosen, else the nearest
    #                          cited source, else the nearest of all

    @property
    def reason(self) -> str:
        """Why it is kept: "supported"; or why not: the reason of the passage it was held to."""
        if self.chosen:
            return "supported"
        return self.checked.reason if self.checked else "low_overlap"

    @property
    def strict_reason(self) -> str:
        """The verdict on its own markers: "supported" only when the sources it cites are the
        ones supporting it; "no_citation" when it cites none."""
        if not self.cited:
            return "no_citation"
        if self.chosen and all(s.source in self.cited for s in self.chosen):
            return "supported"
        cited = [s for s in (self.checked,) if s is not None and s.source in self.cited]
        return cited[0].reason if cited and not cited[0].holds else "wrong_citation"


class Verifier:
    """Judges claims against a fixed set of numbered passages (embedded and read once)."""

    def __init__(self, passages: list[Hit], encoder: Encoder, lexical: LexicalView,
                 thresholds: Thresholds | None = None,
                 attribute: Attribute | None = None) -> None:
        self.passages = passages
        self.thresholds = thresholds or Thresholds()
        self._encoder = encoder
        self._analyzer = lexical.analyzer
        self._attribute = attribute
        self._terms = [lexical.passage_terms(hit.chunk) for hit in passages]
        self._spans = [passage_sentences(hit.chunk) for hit in passages]
        self._texts = [[_slice(hit.chunk, span) for span in spans]
                       for hit, spans in zip(passages, self._spans, strict=True)]
        vectors = encoder.embed([text for texts in self._texts for text in texts])
        bounds = np.cumsum([0] + [len(spans) for spans in self._spans])
        self._vectors = [vectors[a:b] for a, b in itertools.pairwise(bounds)]
        self._facts: list[Facts | None] = [None] * len(passages)
        self._parts: dict[str, np.ndarray] = {}  # a long sentence's clause vectors

    @property
    def method(self) -> str:
        return (f"lexical+embedding+meaning: the cited passage holds >= "
                f"{self.thresholds.lexical:.2f} of the sentence's terms, all its numbers, a "
                f"sentence at cosine >= {self.thresholds.embedding:.2f}, and states what the "
                "sentence says (no negation, opposite, other speaker, name, date, absolute or "
                "certainty that the passage does not give)")

    def facts(self, number: int) -> Facts:
        """What the judge reads of passage `number` (1-based), read on first use."""
        found = self._facts[number - 1]
        if found is None:
            chunk = self.passages[number - 1].chunk
            found = Facts(readings=readings(self._texts[number - 1]),
                          speakers=tuple(sentence_speakers(chunk, self._spans[number - 1],
                                                           self._attribute)),
                          metadata=read(metadata_text(chunk)), published=chunk.published)
            self._facts[number - 1] = found
        return found

    def supports(self, claim: str) -> list[Support]:
        """The claim judged against every passage, in source order (source n at index n-1)."""
        found = _Claim(claim, self._analyzer.terms(claim), read(claim),
                       self._encoder.embed([claim])[0])
        return [self._support(number, found) for number in range(1, len(self.passages) + 1)]

    def _support(self, number: int, claim: _Claim) -> Support:
        """The claim judged against passage `number`: the first gate (terms, numbers), then
        the passage sentences it is about (the nearest one, else one a clause), then what
        those sentences state."""
        facts = self.facts(number)
        spans, vectors = self._spans[number - 1], self._vectors[number - 1]
        terms = claim.terms
        lexical = _term_share(terms, self._terms[number - 1], facts)
        missing = frozenset(claim.reading.numbers - facts.numbers)
        aligned = _whole(vectors @ claim.vector, claim.reading, facts)
        limits = self.thresholds
        worded = lexical >= min(limits.lexical, limits.paraphrase_lexical) and not missing
        if worded and aligned.cosine < limits.embedding:
            aligned = max(aligned, self._by_clause_alignment(claim, number),
                          self._by_part_alignment(claim, number), key=lambda a: a.cosine)
        support = Support(number, lexical, aligned.cosine, spans[aligned.evidence[0]], missing)
        if not worded or not (lexical >= limits.lexical
                              or aligned.cosine >= limits.paraphrase_embedding):
            verdict = cheap_finding(claim.reading, facts) or Finding("low_overlap", _low(support))
        else:  # the meaning checks run; below the cosine threshold they only say why
            verdict = self._meaning(claim, number, aligned)
            if verdict is None and not limits.about(lexical, support.cosine):
                verdict = Finding("low_overlap", _low(support))
        return replace(support, reason=verdict.reason, detail=verdict.detail) if verdict \
            else support

    def _meaning(self, claim: _Claim, number: int, aligned: _Alignment) -> Finding | None:
        """What the aligned sentences say against the claim, read together; None when they
        say nothing against it. A finding drawn from the sentences does not count when one of
        them states the whole claim alone (its neighbours may say something else)."""
        facts = self.facts(number)
        speaker = claim.speaker(self._claim_speaker)
        found = finding(claim.reading, facts, aligned.evidence, speaker)
        if found is None or found.reason not in SENTENCE_REASONS:
            return found
        if any(finding(claim.reading, facts, [i], speaker) is None for i in aligned.alone):
            return None
        return found

    def _by_clause_alignment(self, claim: _Claim, number: int) -> _Alignment:
        """The claim's clauses each aligned to its nearest sentence of passage `number`: a
        sentence that joins several facts of a passage is as near as its farthest clause."""
        clauses = claim.clauses(self._encoder)
        if len(clauses) < 2:
            return _Alignment(-1.0, (0,), ())
        vectors, facts = self._vectors[number - 1], self.facts(number)
        nearest = []
        for text, vector in clauses:
            cosines = vectors @ vector
            best = int(np.argmax(cosines))
            nearest.append((float(cosines[best]), best, read(text)))
        evidence = tuple(dict.fromkeys(i for _, i, _ in sorted(nearest, reverse=True)))
        alone = tuple(i for i in evidence if _covers(facts.readings[i], claim.reading, facts))
        return _Alignment(min(c for c, _, _ in nearest), evidence, alone)

    def _by_part_alignment(self, claim: _Claim, number: int) -> _Alignment:
        """The claim aligned to one clause of a long passage sentence that holds its words (a
        claim may state one fact of a sentence that joins several). Only sentences holding
        the claim's words (the `PART_SENTENCES` nearest of them) are split and embedded,
        once a verifier."""
        facts = self.facts(number)
        best = _Alignment(-1.0, (0,), ())
        nearest = np.argsort(-(self._vectors[number - 1] @ claim.vector))
        covering = [int(i) for i in nearest if _covers(facts.readings[i], claim.reading, facts)]
        for i in covering[:PART_SENTENCES]:
            sentence = self._texts[number - 1][i]
            if sentence not in self._parts:
                parts = claim_clauses(sentence)
                self._parts[sentence] = self._encoder.embed(parts) if len(parts) > 1 \
                    else np.zeros((0, len(claim.vector)), dtype=np.float32)
            cosines = self._parts[sentence] @ claim.vector
            if len(cosines) and float(cosines.max()) > best.cosine:
                best = _Alignment(float(cosines.max()), (i,), (i,))
        return best

    def _claim_speaker(self, claim: str) -> str | None:
        return self._attribute(claim, [(0, len(claim))])[0] if self._attribute else None

    def holds(self, support: Support) -> bool:
        return support.holds

    def judge(self, claim: str, cited: list[int]) -> Judgement:
        """The sources that support the claim: the cited ones that do; else, for a sentence
        citing several, those that support its clauses when each clause has one (a sentence
        may join two facts); else the one other passage that supports it best; else none.
        Numbers of sources that do not exist are ignored."""
        scored = self.supports(claim)
        valid = [n for n in cited if 1 <= n <= len(scored)]
        nearest_cited = max((scored[n - 1] for n in valid), key=lambda s: s.cosine, default=None)
        nearest = nearest_cited or max(scored, key=lambda s: s.cosine, default=None)
        holding = [scored[n - 1] for n in valid if scored[n - 1].holds]
        if not holding and len(valid) > 1:
            holding = self._by_clause(claim, valid)
        if not holding:
            others = [s for s in scored if s.holds]
            holding = [max(others, key=lambda s: s.cosine)] if others else []
        return Judgement(valid, holding, holding[0] if holding else nearest)

    def choose(self, claim: str, cited: list[int]) -> list[Support]:
        """`judge`'s chosen sources (none: the sentence is dropped)."""
        return self.judge(claim, cited).chosen

    def _by_clause(self, claim: str, cited: list[int]) -> list[Support]:
        """The cited sources supporting the claim's clauses, if every clause has one."""
        clauses = [c for c in _CLAUSE_BREAK.split(claim) if c.strip()]
        if len(clauses) < 2:
            return []
        chosen: dict[int, Support] = {}
        for clause in clauses:
            scored = self.supports(clause)
            best = max((scored[n - 1] for n in cited if scored[n - 1].holds),
                       key=lambda s: s.cosine, default=None)
            if best is None:
                return []
            if best.source not in chosen or best.cosine > chosen[best.source].cosine:
                chosen[best.source] = best
        return [chosen[n] for n in cited if n in chosen]


def _low(support: Support) -> str:
    return (f"the passage holds {support.lexical:.0%} of the claim's terms, its nearest sentence "
            f"is at cosine {support.cosine:.2f}")


# Sentences beyond the nearest one a claim may draw on: those nearly as near, or holding
# several of its terms the nearest one lacks (a claim may join two sentences).
EVIDENCE_SENTENCES = 3
EVIDENCE_COSINE_MARGIN = 0.15


def _evidence(cosines: np.ndarray, best: int, claim: Reading, facts: Facts) -> list[int]:
    """The passage sentences a claim is about, nearest first."""
    covered = facts.readings[best].stems
    chosen = [best]
    for i in np.argsort(-cosines):
        i = int(i)
        if i == best or len(chosen) >= EVIDENCE_SENTENCES:
            continue
        new = (claim.stems & facts.readings[i].stems) - covered
        if cosines[i] >= cosines[best] - EVIDENCE_COSINE_MARGIN or len(new) >= 2:
            chosen.append(i)
            covered = covered | facts.readings[i].stems
    return chosen


def sentence_speakers(chunk: Chunk, spans: list[tuple[int, int]],
                      attribute: Attribute | None) -> list[str | None]:
    """Who spoke each of a passage's sentences: the speakers indexed with it (statement
    records, when the store has them, are the place to read them from), else the attribution
    run on the passage's text now, else nobody."""
    if chunk.speakers and len(chunk.speakers) == len(spans):
        return list(chunk.speakers)
    if attribute is None:
        return [None] * len(spans)
    local = [(s - chunk.start, e - chunk.start) for s, e in spans]
    return attribute(chunk.text, local)


def metadata_text(chunk: Chunk) -> str:
    """The title, outlet and date the prompt shows the model beside a passage."""
    date = chunk.published.strftime("%d %B %Y %A") if chunk.published else ""
    return ". ".join(part for part in (chunk.title, chunk.source, date) if part)


def numbers_in(text: str) -> set[str]:
    """The numbers a text states, written one way ("2,400" and "2400" alike; "03" as "3")."""
    return {re.sub(r"^0+(?=\d)", "", n.replace(",", "")) for n in _NUMBER.findall(text)}


def passage_sentences(chunk: Chunk) -> list[tuple[int, int]]:
    """A passage's sentences as article offsets (stored at ingestion, else split now)."""
    if chunk.sentences:
        return list(chunk.sentences)
    spans = [(chunk.start + s, chunk.start + e) for s, e in sentence_spans(chunk.text)]
    return spans or [(chunk.start, chunk.end)]


def _slice(chunk: Chunk, span: tuple[int, int]) -> str:
    return chunk.text[span[0] - chunk.start : span[1] - chunk.start]


@dataclass
class VerifiedAnswer:
    """A generated answer after verification: what the user sees and what was changed."""

    text: str
    citations: list[Citation]
    grounding: Grounding
    abstained: bool


class CitationRepair:
    """Verifies an answer one sentence at a time, so a stream can show each sentence once it
    is checked; `add` gives the text to show, `finish` the whole result.

    Grounding: `sentences` counts the model's sentences, `supported` those kept (each now
    supported by its citations), `dropped` the rest, `repointed` the kept ones whose markers
    were changed; `score` = supported / sentences, the share of the model's sentences that
    its sources bear out.
    """

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier
        self.sentences = 0
        self.repointed = 0
        self.abstained = False
        self._parts: list[str] = []
        self._ids: dict[int, int] = {}  # source number -> citation id, in order of appearance
        self._quotes: dict[int, Support] = {}  # source number -> its best-supported sentence
        self.verdicts: list[SentenceVerdict] = []  # one per sentence of the model's

    @property
    def shown(self) -> bool:
        """Whether `add` has returned any text yet."""
        return bool(self._parts)

    def add(self, sentence: Sentence, gap: str = " ") -> str | None:
        """The repaired sentence (with the space before it) to show, or None if dropped."""
        if self.abstained:
            return None  # the prompt asks for nothing after the abstention reply
        if not self.sentences and is_abstention(sentence):
            self.abstained = True
            self._parts.append(ABSTENTION)
            return ABSTENTION
        self.sentences += 1
        judgement = self.verifier.judge(sentence.claim, sentence.cited)
        chosen = judgement.chosen
        self.verdicts.append(verdict(self.verifier, sentence, judgement))
        if not chosen:
            return None
        if [s.source for s in chosen] != sentence.cited:
            self.repointed += 1
        for support in chosen:
            self._ids.setdefault(support.source, len(self._ids) + 1)
            best = self._quotes.get(support.source)
            if best is None or support.cosine > best.cosine:
                self._quotes[support.source] = support
        markers = [self._ids[s.source] for s in chosen]
        self.verdicts[-1] = self.verdicts[-1].model_copy(update={"markers": markers})
        text = f"{sentence.shown} " + "".join(f"[{m}]" for m in markers)
        if self._parts:
            text = ("\n\n" if "\n\n" in gap else "\n" if "\n" in gap else " ") + text
        self._parts.append(text)
        return text

    def finish(self) -> VerifiedAnswer:
        """The verified answer; one with no supported sentence left is an abstention."""
        kept = 0 if self.abstained else len(self._parts)
        grounding = Grounding(
            score=round(kept / self.sentences, 4) if self.sentences else 1.0,
            supported=kept, sentences=self.sentences, dropped=self.sentences - kept,
            repointed=self.repointed, method=self.verifier.method, verdicts=self.verdicts,
        )
        if self.abstained or not kept:
            return VerifiedAnswer(ABSTENTION, [], grounding, abstained=True)
        return VerifiedAnswer("".join(self._parts), self._citations(), grounding,
                              abstained=False)

    def _citations(self) -> list[Citation]:
        citations = []
        for source, number in self._ids.items():
            chunk = self.verifier.passages[source - 1].chunk
            support = self._quotes[source]
            start, end = support.quote
            citations.append(Citation(
                id=number, chunk_id=chunk.id, article_id=chunk.article_id, title=chunk.title,
                source=chunk.source, published=chunk.published, url=chunk.url, text=chunk.text,
                quote=_slice(chunk, support.quote), start=chunk.start, end=chunk.end,
                quote_start=start, quote_end=end, speaker=chunk.speaker_of(start, end),
                score=round(support.cosine, 4),
            ))
        return citations


def verdict(verifier: Verifier, sentence: Sentence, judgement: Judgement,
            strict: bool = False) -> SentenceVerdict:
    """One sentence's verdict. Kept or dropped (`strict` off: /v1/ask, where a sentence its own
    sources do not support may be re-pointed), or, `strict`, held to the sources it cites
    (/v1/grounding, `rag grounding`)."""
    reason = judgement.strict_reason if strict else judgement.reason
    checked = judgement.checked
    quote = None
    if checked is not None:
        chunk = verifier.passages[checked.source - 1].chunk
        quote = _slice(chunk, checked.quote)
    return SentenceVerdict(
        text=sentence.claim, citations=sentence.cited, supported=reason == "supported",
        supported_by=[s.source for s in judgement.chosen], reason=reason,
        detail="" if reason in ("supported", "no_citation", "wrong_citation")
        or checked is None else checked.detail, quote=quote)


def verify_citations(answer_text: str, passages: list[Hit], encoder: Encoder,
                     lexical: LexicalView, thresholds: Thresholds | None = None,
                     attribute: Attribute | None = None) -> VerifiedAnswer:
    """Check every sentence of `answer_text` against the passages it cites (source n is
    `passages[n-1]`), keep it re-pointed or drop it, and report what changed."""
    repair = CitationRepair(Verifier(passages, encoder, lexical, thresholds, attribute))
    previous = 0
    for sentence in split_answer(answer_text):
        repair.add(sentence, answer_text[previous : sentence.start])
        previous = sentence.end
    return repair.finish()
