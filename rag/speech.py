"""Answers to "what did S say about T" made of S's statements only, or an abstention saying why.
Statements are grouped by article in date order, direct quotes first; a subject that is neither
a name nor a role is left to the ordinary answerer (docs/answering.md, "Who said what").
"""

from __future__ import annotations

import datetime as dt
import re

from rag.analysis import Analyzer
from rag.answer import speakers_of
from rag.attribution import attribution_prefix, outlet_phrase
from rag.conflicts import conflict_note, find_conflicts
from rag.lexical import LexicalIndex
from rag.query import Query
from rag.question import names_in
from rag.schemas import Answer, Chunk, Citation, Context, Filters, Grounding
from rag.statements import MAX_NEAR, Resolution, Said, Speaker, StatementIndex, normal_name
from rag.topics import MIN_CLAIM_COSINE, Meaning, TopicScorer, Unit

NOT_COVERED = "The indexed articles do not cover this"
# Sentences of an answer (a quotation running over more is kept whole).
MAX_SENTENCES = 10
# A sentence naming its speaker within this many opening words needs no name before it.
_NAMING_WORDS = 6
# A quotation joins the answer when it scores at least this share of the best one.
RELATIVE_FLOOR = 0.5
# A claim's statements: those within this cosine of the best match ("Who said ...?").
CLAIM_MARGIN = 0.03
# Word overlap (Jaccard) above which two outlets' sentences are one statement.
SAME_STATEMENT = 0.8
# Within one story's copies, one speaker's sentences overlapping this much are one statement
# (a copy may reword a sentence a little).
SAME_IN_COPIES = 0.5
_PRONOUNS = frozenset({"he", "she", "they", "it", "him", "her", "them", "his", "its", "their"})
_OPENING_QUOTES = ("\"", "“", "«", "'", "‘")
_WHO = re.compile(r"^\s*who\s+", re.IGNORECASE)
# "Who warned about T?", "Who commented on T?": a topic, not a claim.
_WHO_ABOUT = re.compile(r"^\s*who\s+(?:has\s+|had\s+)?\w+\s+(?:about|on|regarding|concerning)\s",
                        re.IGNORECASE)
_WORD = re.compile(r"\w+")
_NO_TERM = "\x00"  # a term no text is analysed into
# Characters two sentences in a row can have between them (spaces, a paragraph break): two
# statements this close are adjacent even when their copies come from different chunks.
_BETWEEN_SENTENCES = 4

def speech_answer(question: str | Query, index: StatementIndex, lexical: LexicalIndex,
                  meaning: Meaning | None = None, filters: Filters | None = None,
                  newest_first: bool = False) -> Answer | None:
    """The answer from statements, or None when the question is not one this answers (no
    speech question, a pronoun subject, or a subject that is neither a name nor a role).

    "Who said X?" quotes the statements closest to X in meaning, whoever said them; "What did
    S say about T?" only S's statements (or, for a body, those who speak for it) on T.
    Articles come oldest first, or newest first when the question asks for the latest.
    `question`: its text, or its reading (`rag.query.Query`)."""
    query = Query.read(question, lexical)
    speech = query.speaker
    if speech is None:
        claim = query.claim
        if claim is None:
            return None
        return _who_said(query.text, claim, index, lexical, meaning, filters, newest_first)
    if speech.subject.lower() in _PRONOUNS:
        return None
    resolution = index.resolve(speech.subject, speech.person, speech.names)
    if not resolution.speakers:
        if not resolution.speaker_like:
            return None
        return _abstain(_not_quoted(resolution, lexical, meaning), "not_a_speaker")
    speakers, subject, topic = resolution.speakers, resolution.subject, speech.topic
    pool = [said for speaker in speakers for said in one_copy(speaker.said, filters)]
    audience = speech.audience
    if audience:
        pool = [said for said in pool if _same_audience(said.statement.audience, audience)]
        if not pool:
            return _abstain(f"{NOT_COVERED}: they quote no statement by {subject} to "
                            f"{audience}.", "no_statement_on_topic")
    units = _units(pool)
    if topic:
        units = TopicScorer(topic, index, lexical, meaning).score(units)
    chosen = _choose(units)
    if not chosen:
        return _abstain(f"{NOT_COVERED}: they quote {_counted(speakers, pool)}, but none "
                        f"{_on(topic, filters)}.", "no_statement_on_topic")
    return _with_conflicts(_compose(chosen, index, lexical, newest_first),
                           lexical.analyzer)


def find_statements(index: StatementIndex, lexical: LexicalIndex, speaker: str | None = None,
                    topic: str | None = None, filters: Filters | None = None,
                    meaning: Meaning | None = None) -> list[Said]:
    """Statement records for a listing (`GET /v1/statements`, `rag statements`): by speaker (a
    name, alias or role, resolved as a question's subject is), within the filters, and on the
    topic when one is given (best first; else in date order)."""
    speakers = index.speakers
    if speaker and speaker.strip():
        names = names_in(speaker)
        person = names[-1] if names and speaker.strip().endswith(names[-1]) else None
        speakers = index.resolve(speaker.strip(), person).speakers
    pool = [said for s in speakers for said in one_copy(s.said, filters)]
    if not topic or not topic.strip():
        return sorted(pool, key=lambda s: (_day(s.published), s.article_id, s.statement.start))
    units = TopicScorer(topic, index, lexical, meaning).score([Unit([said]) for said in pool])
    return [u.said[0] for u in sorted(units, key=lambda u: -u.score) if u.on_topic]


def _who_said(question: str, claim: str, index: StatementIndex, lexical: LexicalIndex,
              meaning: Meaning | None, filters: Filters | None,
              newest_first: bool = False) -> Answer:
    """"Who said X?": the statements that say X (by meaning and words), grouped by who said
    them; "Who warned about T?": every statement on T, as for a speaker. An abstention names
    what was asked when none does."""
    pool = [said for speaker in index.speakers for said in one_copy(speaker.said, filters)]
    scorer = TopicScorer(claim, index, lexical, meaning)
    if _WHO_ABOUT.match(question):
        chosen, strong = _choose(scorer.score(_units(pool))), True
    else:
        units = scorer.score_claim(_units(pool))
        best = max((u.cosine for u in units if u.on_topic), default=0.0)
        chosen = _choose([u for u in units if u.on_topic and u.cosine >= best - CLAIM_MARGIN])
        strong = best >= MIN_CLAIM_COSINE
    if not chosen:
        asked = _WHO.sub("", question.strip().rstrip("?.! ")).strip()
        return _abstain(f"{NOT_COVERED}: they quote no one who {asked}.",
                        "no_statement_on_topic")
    answer = _with_conflicts(_compose(chosen, index, lexical, newest_first), lexical.analyzer)
    if strong:
        return answer
    # Matched only within the claim's story: say the match is by meaning, not by words.
    nearest = "statement" if sum(len(u.said) for u in chosen) == 1 else "statements"
    return answer.model_copy(update={
        "answer": f"No one is quoted saying exactly that; the {nearest} closest in meaning: "
                  f"{answer.answer}"})


def _with_conflicts(answer: Answer, analyzer: Analyzer) -> Answer:
    # Copies cited as "also reported by" are one statement, not a change over time.
    quoted = [c for c in answer.citations if f"{c.quote} [{c.id}]" in answer.answer]
    conflicts = find_conflicts(quoted, analyzer)
    if not conflicts:
        return answer
    return answer.model_copy(update={"conflicts": conflicts,
                                     "answer": f"{answer.answer} {conflict_note(conflicts)}"})


def _on(topic: str | None, filters: Filters | None) -> str:
    """What the answer looked for, as the end of "none ...": "on the strike", "saying that
    talks would resume", "within the filters"."""
    if topic:
        clause = re.match(r"(?:that)\s+(?P<rest>.+)", topic, re.IGNORECASE)
        return f"saying that {clause['rest']}" if clause else f"on {topic}"
    return "within the filters asked" if filters is not None and not filters.is_empty() else (
        "at all")


# --- choosing ---------------------------------------------------------------------------------


def one_copy(said: list[Said], filters: Filters | None = None) -> list[Said]:
    """One speaker's statements within the filters, each story's once: those of the story's
    earliest published copy (then its first stored one), and of its other copies only the
    statements that copy alone carries (a quote the first one trimmed). The citations name
    the other copies (`rag.carriers`)."""
    by_story: dict[str, list[Said]] = {}
    for item in said:
        if _kept(item, filters):
            by_story.setdefault(item.story or item.article_id, []).append(item)
    kept: list[Said] = []
    for story, group in by_story.items():
        if len({s.article_id for s in group}) == 1:
            kept.extend(group)
            continue
        group = sorted(group, key=lambda s: (_day(s.published), s.article_id != story,
                                             s.article_id, s.statement.start))
        words: list[set[str]] = []
        for item in group:
            mine = set(_WORD.findall(item.text.lower()))
            if item.article_id == group[0].article_id or not any(
                    _jaccard(mine, other) >= SAME_IN_COPIES for other in words):
                kept.append(item)
                words.append(mine)
    return kept


def _kept(said: Said, filters: Filters | None) -> bool:
    if filters is None or filters.is_empty():
        return True
    if filters.sources() and said.source not in filters.sources():
        return False
    if filters.article_ids and said.article_id not in filters.article_ids:
        return False
    if filters.published_from and not (said.published and
                                       said.published >= filters.published_from):
        return False
    return not (filters.published_to and not (said.published and
                                              said.published <= filters.published_to))


def _same_audience(said: str | None, asked: str) -> bool:
    if not said:
        return False
    a, b = normal_name(said), normal_name(asked)
    return a == b or a.endswith(b) or b.endswith(a)


def _units(pool: list[Said]) -> list[Unit]:
    """Consecutive statements of one speaker that run on as one (`_continues`)."""
    units: list[Unit] = []
    for said in sorted(pool, key=lambda s: (s.article_id, s.statement.start)):
        last = units[-1].said[-1] if units else None
        if (last is not None and last.article_id == said.article_id
                and last.statement.speaker == said.statement.speaker
                and (said.previous == last.statement.start
                     or 0 <= said.statement.start - last.statement.end <= _BETWEEN_SENTENCES)
                and _continues(said, last)):
            units[-1].said.append(said)
        else:
            units.append(Unit([said]))
    return units


def _continues(said: Said, previous: Said) -> bool:
    """Whether a statement right after another of the same speaker goes on with it: it opens
    a quotation, the other left one open, or it opens with a pronoun after reported speech
    ("The party condemned the attack. It demanded ...")."""
    first = said.text.lstrip()
    if first.startswith(_OPENING_QUOTES) or _left_open(previous.text):
        return True
    return (previous.statement.kind == "reported"
            and first.split(" ", 1)[0].lower() in _PRONOUNS)


def _left_open(text: str) -> bool:
    opened = text.count("“") + text.count("«")
    closed = text.count("”") + text.count("»")
    return opened > closed or (opened == closed == 0 and text.count('"') % 2 == 1)


def _choose(units: list[Unit]) -> list[Unit]:
    """The best units on the topic, at most `MAX_SENTENCES` sentences (the first whole), each
    statement once."""
    ranked = sorted((u for u in units if u.on_topic), key=lambda u: -u.score)
    if not ranked:
        return []
    floor = RELATIVE_FLOOR * ranked[0].score
    chosen: list[Unit] = []
    seen: set[tuple[str, str]] = set()  # an article's repeated paragraph is quoted once
    sentences = 0
    for unit in ranked:
        if unit.score < floor or (chosen and sentences + len(unit.said) > MAX_SENTENCES):
            continue
        fresh = [s for s in unit.said if (s.article_id, _key(s.text)) not in seen]
        if not fresh:
            continue
        seen.update((s.article_id, _key(s.text)) for s in fresh)
        chosen.append(Unit(fresh, unit.score))
        sentences += len(fresh)
    return chosen + _carried_elsewhere(chosen, units)


def _carried_elsewhere(chosen: list[Unit], units: list[Unit]) -> list[Unit]:
    """The chosen statements as other articles carry them (to cite as "also reported by")."""
    words = [(set(_WORD.findall(s.text.lower())), s.article_id, s.statement.start)
             for unit in chosen for s in unit.said]
    taken = {(article, start) for _, article, start in words}
    twins = []
    for unit in units:
        for said in unit.said:
            if (said.article_id, said.statement.start) in taken:
                continue
            mine = set(_WORD.findall(said.text.lower()))
            if any(article != said.article_id and _jaccard(mine, theirs) >= SAME_STATEMENT
                   for theirs, article, _ in words):
                twins.append(Unit([said]))
                taken.add((said.article_id, said.statement.start))
    return twins


def _key(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


# --- writing ----------------------------------------------------------------------------------


def _compose(units: list[Unit], index: StatementIndex, lexical: LexicalIndex,
             newest_first: bool = False) -> Answer:
    """Group by article (date order), open each group with who, role, outlet and date; direct
    quotes first, then reported speech; a statement already quoted from another outlet is
    cited as "also reported by" instead."""
    by_group: dict[tuple[str, str], list[Said]] = {}
    best: dict[tuple[str, str], float] = {}
    for unit in units:
        for said in unit.said:
            key = (said.article_id, said.statement.speaker)
            by_group.setdefault(key, []).append(said)
            best[key] = max(best.get(key, 0.0), unit.score)
    def when(key: tuple[str, str]) -> int:  # undated articles last either way
        day = _day(by_group[key][0].published)
        return -day if newest_first and day != dt.date.max.toordinal() else day

    order = sorted(by_group, key=lambda k: (when(k), -best[k]))
    citations: list[Citation] = []
    blocks: list[tuple[str, list[str]]] = []  # each group's opening and sentences
    quoted: list[tuple[set[str], str, int, int]] = []  # words, article, block, line
    contexts: dict[str, Context] = {}
    chunks: dict[int, Chunk] = {}  # each cited chunk parsed once
    for key in order:
        group = sorted(by_group[key], key=lambda s: (s.statement.kind != "direct",
                                                     s.statement.start))
        name = index.owner(group[0]).name
        lines: list[str] = []
        shown: list[Said] = []
        for said in group:
            chunk = chunks.setdefault(said.position, lexical.chunks[said.position])
            citation = _cite(said, len(citations) + 1, name, chunk)
            citations.append(citation)
            contexts.setdefault(said.chunk_id, _context(said, chunk, len(contexts) + 1))
            words = set(_WORD.findall(said.text.lower()))
            twin = next(((block, line) for w, article, block, line in quoted
                         if article != said.article_id and _jaccard(w, words) >= SAME_STATEMENT),
                        None)
            if twin is not None:  # another outlet carried it: cited once, where first quoted
                block, line = twin
                where = outlet_phrase(said.source, said.published, said.title) or "another article"
                blocks[block][1][line] += f" (also reported by {where} [{citation.id}])"
                continue
            quoted.append((words, said.article_id, len(blocks), len(lines)))
            first_reported = said.statement.kind == "reported" and not any(
                s.statement.kind == "reported" for s in shown)
            lines.append(f"{'Reported: ' if first_reported else ''}{said.text} [{citation.id}]")
            shown.append(said)
        if lines:
            blocks.append((_header(name, shown[0], shown), lines))
    parts = [header + " ".join(lines) for header, lines in blocks]
    text = " ".join(parts)
    return Answer(answer=text, abstained=False, citations=citations,
                  contexts=list(contexts.values()),
                  grounding=Grounding(score=1.0, supported=len(citations),
                                      sentences=len(citations)),
                  mode="extractive", evidence_score=round(max(best.values(), default=0.0), 4),
                  question_coverage=1.0)


def _header(name: str, first: Said, group: list[Said]) -> str:
    """The group's opening: the speaker (unless the first sentence opens by naming them:
    "Khawaja Muhammad Asif, Pakistan's Minister of Defense, said"), role, audience, outlet and
    date."""
    statement = first.statement
    names = {name, statement.speaker, *statement.aliases}
    opening = " ".join(first.text.split()[:_NAMING_WORDS])
    named_already = any(n and n in opening for n in names)
    role = statement.roles[0] if statement.roles else None
    who = None if named_already else (f"{name} ({role})" if role else name)
    audience = next((s.statement.audience for s in group if s.statement.audience), None)
    if who and audience and audience not in first.text and audience != first.source:
        who = f"{who}, speaking to {audience}"
    return attribution_prefix(who, first.source, first.published, first.title)


def _cite(said: Said, number: int, speaker: str, chunk: Chunk) -> Citation:
    """The statement's citation: its sentence as the quote, inside its chunk's passage."""
    return Citation(
        id=number, chunk_id=said.chunk_id, article_id=said.article_id, title=said.title,
        source=said.source, published=said.published, url=said.url, text=chunk.text,
        quote=said.text, start=chunk.start, end=chunk.end,
        quote_start=said.statement.start, quote_end=said.statement.end, speaker=speaker,
        score=1.0,
    )


def _context(said: Said, chunk: Chunk, rank: int) -> Context:
    return Context(chunk_id=said.chunk_id, article_id=said.article_id, title=said.title,
                   source=said.source, published=said.published, text=chunk.text,
                   start=chunk.start, end=chunk.end, score=1.0, rank=rank, url=said.url,
                   speakers=speakers_of(chunk))


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _day(published: dt.date | None) -> int:
    return published.toordinal() if published else dt.date.max.toordinal()


def _counted(speakers: list[Speaker], pool: list[Said]) -> str:
    """"Livia Varnholt (10 statements)", "A, B and C (4 statements)", "A, B, C and others"."""
    names = [s.name for s in speakers[:3]] + (["others"] if len(speakers) > 3 else [])
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{listed} ({len(pool)} statement{'s' if len(pool) != 1 else ''})"


def _not_quoted(resolution: Resolution, lexical: LexicalIndex,
                meaning: Meaning | None) -> str:
    """Why a subject is not answered: never quoted (though mentioned, for a name); for a role
    no one quoted holds, who the articles do quote nearest to it."""
    subject = resolution.subject
    said = f"{NOT_COVERED}: they quote no statement by {subject}"
    if resolution.near:
        return f"{said}. The nearest they quote {_nearest(resolution, meaning)}."
    if not names_in(subject) or subject[:1].islower():
        return f"{said}."
    terms = lexical.analyzer.terms(subject)
    unseen = lexical.idf(_NO_TERM)  # the weight of a term no chunk holds
    if terms and all(lexical.idf(t) < unseen for t in terms):
        return f"{NOT_COVERED}: they mention {subject} but quote no statement by {subject}."
    return f"{said}."


def _nearest(resolution: Resolution, meaning: Meaning | None) -> str:
    """"is the union secretary Ilse Brandvold", "are ... and ...": the speakers nearest to a
    role no one holds, closest in meaning first (their description's cosine to the role)."""
    near = resolution.near
    if meaning is not None and len(near) > 1:
        wanted = meaning.embed(resolution.subject)
        closeness = {id(s): float(meaning.embed(_description(s)) @ wanted) for s in near}
        near = sorted(near, key=lambda s: -closeness[id(s)])
    named = [_described(s) for s in near[:MAX_NEAR]]
    listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
    return f"{'is' if len(named) == 1 else 'are'} {listed}"


def _description(speaker: Speaker) -> str:
    return speaker.roles[0] if speaker.roles else speaker.name


def _described(speaker: Speaker) -> str:
    """A speaker as a reader knows them: "Ilse Brandvold (union secretary)"."""
    return f"{speaker.name} ({speaker.roles[0]})" if speaker.roles else speaker.name


def _abstain(text: str, reason: str) -> Answer:
    return Answer(answer=text, abstained=True, citations=[], contexts=[],
                  grounding=Grounding(score=1.0, supported=0, sentences=0), mode="extractive",
                  evidence_score=0.0, question_coverage=0.0, abstention_reason=reason)
