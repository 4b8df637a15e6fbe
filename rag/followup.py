"""Rewrite a follow-up question so it stands alone before retrieval: by the configured LLM
(`llm_standalone_question`), or by rules that need no model (`standalone_question`). A rewrite
is never longer than a question may be (docs/answering.md, "Follow-up questions").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bm25s.stopwords import STOPWORDS_EN_PLUS

import prompts
from rag.attribution import speakers_named
from rag.config import Settings
from rag.llm import ChatModel, LLMError
from rag.question import QUESTION_WORDS, Speech, family_name, names_in, speech_of
from rag.schemas import Turn
from rag.speech_verbs import FRAMING, RESTATING, alternation

# The most recent turns read: an antecedent further back is rarely meant, and a long chat
# would otherwise be rewritten turn by turn on every question.
MAX_TURNS = 10
# Questions this short ("India?", "Why not?") cannot stand alone.
ELLIPTICAL_WORDS = 3
# A model's rewrite longer than this is no rewrite of one question (it explains, or answers).
MAX_REWRITE_CHARS = 1000
# What a turn is read up to and a rewrite may grow to, unless the caller says (the service
# passes RAG_MAX_QUESTION_CHARS).
QUESTION_LIMIT: int = Settings.model_fields["max_question_chars"].default
_PERSON_PRONOUNS = frozenset({"he", "she", "him"})
_PERSON_POSSESSIVES = frozenset({"his", "her"})
_GROUP_PRONOUNS = frozenset({"they", "them"})
_GROUP_POSSESSIVES = frozenset({"their"})
_THING_PRONOUNS = frozenset({"it"})
_THING_POSSESSIVES = frozenset({"its"})
_PRONOUNS = (_PERSON_PRONOUNS | _PERSON_POSSESSIVES | _GROUP_PRONOUNS | _GROUP_POSSESSIVES
             | _THING_PRONOUNS | _THING_POSSESSIVES)
_OPENER = re.compile(r"^\s*(?:and|also|but|so|then)\b[\s,]*", re.IGNORECASE)
_WHAT_ABOUT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+(?P<focus>.+?)[\s?.]*$",
                         re.IGNORECASE)
_WORD = re.compile(r"[\w’'-]+")
_LEADING_PREPOSITION = re.compile(r"^(?:about|on|regarding|concerning)\s+", re.IGNORECASE)
_SAY = re.compile(rf"\b(?:{alternation(RESTATING)})\s+$", re.IGNORECASE)
# How a question opens: a short one opening so asks something ("Why?", "Is it true?"); other
# short ones name what to ask the earlier question about ("India?").
_QUESTION_OPENERS = QUESTION_WORDS | {"is", "are", "was", "were", "do", "does", "did", "has",
                                      "have", "had", "can", "could", "will", "would", "should"}
# Words that frame a question rather than say what it is about.
_FRAMING = frozenset(STOPWORDS_EN_PLUS) | QUESTION_WORDS | FRAMING | {
    "many", "much", "long", "happen", "happened", "also", "explain", "describe",
}


@dataclass(frozen=True)
class _Antecedent:
    """The latest user turn, standing alone, and what a follow-up may take from it."""

    question: str
    speech: Speech | None
    context: str
    person: str | None = None


def standalone_question(question: str, history: list[Turn],
                        max_chars: int = QUESTION_LIMIT) -> str:
    """The question rewritten to stand alone given the conversation before it (rules above).

    The last `MAX_TURNS` turns are read, each up to `max_chars` characters, and the result is
    at most `max_chars` long (a question longer than that is returned as it is).
    """
    if len(question) > max_chars:
        return question
    antecedent = _antecedent(_recent(history, max_chars), max_chars)
    if antecedent is None or not depends_on_conversation(question):
        return question
    return _within(_rewrite(question.strip(), antecedent), question, max_chars)


def llm_standalone_question(question: str, history: list[Turn], model: ChatModel,
                            max_chars: int = QUESTION_LIMIT) -> str:
    """The question as the LLM rewrites it to stand alone (prompts/rewrite_question.txt).

    The model is asked only when the rules see the question lean on an earlier user turn, so
    a self-contained question costs no call and stays exactly as asked. If the model fails or
    its reply is not one question (or is longer than `max_chars`), the rules' rewrite is used:
    a follow-up must never fail an answer that retrieval alone can give. The prompt holds the
    last `MAX_TURNS` turns, each cut to `max_chars` characters.
    """
    turns = [t for t in _recent(history, max_chars) if t.content.strip()]
    if (len(question) > max_chars or not any(t.role == "user" for t in turns)
            or not depends_on_conversation(question)):
        return question
    conversation = "\n".join(f"{t.role}: {' '.join(t.content.split())}" for t in turns)
    prompt = prompts.load("rewrite_question").strip().format(conversation=conversation,
                                                             question=question)
    try:
        reply = model.complete([{"role": "user", "content": prompt}])
    except LLMError:
        return standalone_question(question, history, max_chars)
    lines = [line.strip().strip('"“”') for line in reply.splitlines() if line.strip()]
    if len(lines) != 1 or not lines[0] or len(lines[0]) > min(MAX_REWRITE_CHARS, max_chars):
        return standalone_question(question, history, max_chars)
    return lines[0]


def _recent(history: list[Turn], max_chars: int) -> list[Turn]:
    """The turns the rewrite reads: the last `MAX_TURNS` user and assistant turns, each cut
    to `max_chars`."""
    spoken = [t for t in history if t.role in ("user", "assistant")]
    return [t if len(t.content) <= max_chars else t.model_copy(
                update={"content": t.content[:max_chars]})
            for t in spoken[-MAX_TURNS:]]


def _within(rewrite: str, asked: str, max_chars: int) -> str:
    """The rewrite, unless it is longer than a question may be: then the question as asked."""
    return rewrite if len(rewrite) <= max_chars else asked


def depends_on_conversation(question: str) -> bool:
    """Whether the question leans on earlier turns (rule 1)."""
    words = _WORD.findall(question)
    return (_OPENER.match(question) is not None or _WHAT_ABOUT.match(question) is not None
            or len(words) <= ELLIPTICAL_WORDS or not names_in(question)
            or any(_unresolved(question, m) for m in _pronouns(question)))


def _antecedent(turns: list[Turn], max_chars: int) -> _Antecedent | None:
    latest: _Antecedent | None = None
    for turn in turns:
        if turn.role == "user" and turn.content.strip():
            asked = turn.content.strip()
            if latest is not None and depends_on_conversation(asked):
                asked = _within(_rewrite(asked, latest), asked, max_chars)
            latest = _read(asked)
        elif turn.role == "assistant" and latest is not None and latest.person is None:
            speakers = speakers_named(turn.content)
            if latest.speech is not None and speakers:
                latest = replace(latest, person=speakers[0])
    return latest


def _read(question: str) -> _Antecedent:
    speech = speech_of(question)
    if speech is None:
        return _Antecedent(question, None, _content_words(question))
    context = ", ".join(part for part in (speech.subject, speech.topic) if part)
    return _Antecedent(question, speech, context, speech.subject if speech.is_name else None)


def _content_words(question: str) -> str:
    """The question's names and other content words, in order, each once."""
    names = names_in(question)
    kept: list[str] = []
    for word in _WORD.findall(question):
        name = next((n for n in names if word in n.split()), None)
        if name:
            if name not in kept:
                kept.append(name)
        elif word.lower() not in _FRAMING and word not in kept:
            kept.append(word)
    return " ".join(kept)


def _rewrite(question: str, antecedent: _Antecedent) -> str:
    speech = antecedent.speech
    ellipsis = _WHAT_ABOUT.match(question)
    bare = _OPENER.sub("", question).strip()
    words = _WORD.findall(bare)
    if ellipsis is None and len(words) <= ELLIPTICAL_WORDS:
        if words and words[0].lower() in _QUESTION_OPENERS:
            return _with_context(bare, antecedent.context)
        ellipsis = re.match(r"(?P<focus>.+?)[\s?.]*$", bare)
    if ellipsis is not None:
        focus = _LEADING_PREPOSITION.sub("", ellipsis.group("focus"))
        if speech is not None and speech.topic:
            return _replace_last(antecedent.question, speech.topic, focus)
        return _with_context(antecedent.question, focus)
    if speech is not None:
        resolved = _resolve_pronouns(bare, speech, antecedent.person)
        if resolved != bare:
            return _capitalise(resolved)
    return _with_context(_capitalise(bare), antecedent.context)


def _pronouns(question: str) -> list[re.Match[str]]:
    return [m for m in _WORD.finditer(question) if m.group().lower() in _PRONOUNS]


def _unresolved(question: str, pronoun: re.Match[str]) -> bool:
    """A pronoun with no name before it in the question points outside the question."""
    return not names_in(question[: pronoun.start()])


def _resolve_pronouns(question: str, speech: Speech, person: str | None) -> str:
    """Each unresolved pronoun replaced by the antecedent's person, subject or topic."""
    someone = family_name(person) if person else speech.subject
    pieces: list[str] = []
    last = 0
    for match in _pronouns(question):
        word = match.group().lower()
        if not _unresolved(question, match):
            continue
        if word == "her" and not _WORD.match(question[match.end() :].lstrip()):
            word = "him"  # "ask her?" is the person; "her view" the possessive
        if word in _PERSON_PRONOUNS:
            replacement = someone
        elif word in _PERSON_POSSESSIVES:
            replacement = _possessive(someone)
        elif word in _GROUP_PRONOUNS:
            replacement = speech.subject
        elif word in _GROUP_POSSESSIVES:
            replacement = _possessive(speech.subject)
        elif word in _THING_PRONOUNS and _SAY.search(question[: match.start()]):
            replacement = f"that about {speech.topic}" if speech.topic else None
        elif word in _THING_PRONOUNS:
            replacement = speech.topic
        else:
            replacement = _possessive(speech.topic) if speech.topic else None
        if replacement:
            pieces += [question[last : match.start()], replacement]
            last = match.end()
    return "".join([*pieces, question[last:]])


def _possessive(phrase: str) -> str:
    return phrase + ("'" if phrase.endswith("s") else "'s")


def _replace_last(text: str, old: str, new: str) -> str:
    before, found, after = text.rpartition(old)
    return f"{before}{new}{after}" if found else _with_context(text, new)


def _with_context(question: str, context: str) -> str:
    """The question with the carried words in parentheses before its question mark."""
    stem = question.rstrip(" ?.")
    return f"{stem} ({context})?" if context and context not in stem else f"{stem}?"


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]
