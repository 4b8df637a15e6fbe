"""The words that report speech ("said", "told", "according to"), kept in one place. Each reader
takes the subset its job needs: an article's cues must be finished verb forms, a question may ask
in any tense, the cleaner looks only for interviews (docs/ingestion.md, "Who said each sentence").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Reporting verbs that attribute an article's sentence wherever they stand (index/speakers.py).
CUE_VERBS = (
    "said", "says", "say", "told", "tells", "stated", "asserted", "alleged", "claimed", "claims",
    "argued", "argues", "insisted", "insists", "replied", "remarked", "mentioned", "emphasised",
    "emphasized", "stressed", "pledged", "vowed", "acknowledged", "admitted", "explained",
    "explains", "reiterated", "warned", "warns", "cautioned", "urged", "conceded", "denied",
    "denies", "deny", "condemned", "demanded", "expressed", "assured", "tweeted", "recalled",
    "recalls", "testified",
)
# Reporting verbs with common other senses ("added 200 jobs", "called a meeting"): cues only
# beside a quotation, or before "that" or a colon (index/speakers.py).
WEAK_CUE_VERBS = (
    "added", "adds", "noted", "notes", "announced", "described", "called", "accused",
    "criticised", "criticized", "confirmed", "responded", "concluded", "observed", "suggested",
    "suggests", "promised", "declared", "questioned", "wrote", "writes", "continued", "asked",
    "asks",
)
# Participles that attribute the clause they end ("..., saying the port would reopen").
CUE_PARTICIPLES = (
    "saying", "adding", "telling", "noting", "warning", "arguing", "stressing", "insisting",
    "claiming", "explaining", "asserting", "declaring", "accusing", "describing",
)
# Cues whose object is whom something was said to, not what ("told reporters that ...").
TELLING = ("told", "tells", "telling")
# Phrases before whom a speaker spoke to, read as a statement's audience (index/speakers.py).
AUDIENCE_PHRASES = (*TELLING, "speaking to", "talking to", "in an interview with",
                    "interview with", "speaking with", "talking with")
# Of the audience phrases, those that also open a sentence capitalised ("Speaking to Dawn, ...").
AUDIENCE_OPENINGS = ("speaking to", "talking to", "in an interview with", "speaking with",
                     "talking with")
# Phrases before an outlet that interviewed a speaker: the cleaner's clue to the publisher
# (index/clean.py, `find_outlet`).
INTERVIEW_PHRASES = ("told", "speaking to", "speaking with", "spoke to", "spoke with",
                     "in an interview with", "interviewed by")
# Of the interview phrases, those that also open a sentence capitalised.
INTERVIEW_OPENINGS = ("speaking to", "speaking with")
# Verb forms a question asks what someone said with, matched as whole words (rag/question.py).
QUESTION_VERBS = (
    "say", "says", "said", "saying", "tell", "tells", "told", "telling", "state", "stated",
    "deny", "denies", "denied", "reply", "replies", "replied", "urge", "urges", "urged", "think",
    "thinks", "believe", "believes",
)
# Stems a question's verb may end any way after ("warn": warns, warned, warning).
QUESTION_VERB_STEMS = (
    "warn", "claim", "argu", "insist", "admit", "pledg", "promis", "accus", "criticis", "criticiz",
    "suggest", "explain", "describ", "mention", "announc", "respond", "comment", "allege",
    "assert", "vow", "stress", "emphasis", "emphasiz", "react",
)
# Verbs after which a follow-up's "it" is what was said ("What did he say it would cost?").
RESTATING = ("say", "says", "said", "tell", "tells", "told", "repeat", "repeated")
# Speech words that frame a question rather than say what it is about (rag/followup.py).
FRAMING = frozenset({"say", "said", "tell", "told", "according"})
# Analyser stems of the words around a quotation, which say nothing of what a name in it is said
# of (rag/reading.py: "added" is "ad", "according" is "accord").
REPORTING_STEMS = frozenset({"said", "say", "told", "tell", "accord", "ad", "add", "ask"})


def alternation(forms: Iterable[str], capitalised: Iterable[str] = ()) -> str:
    """A regex alternation (no group) of `forms`, literal words or phrases, in their order;
    those also in `capitalised` match with an upper-case first letter too ("[Ss]peaking to")."""
    upper = frozenset(capitalised)
    return "|".join(
        f"[{form[0].upper()}{form[0]}]{re.escape(form[1:])}" if form in upper else re.escape(form)
        for form in forms
    )


def first_letters(forms: Iterable[str]) -> str:
    """The letters `forms` start with, sorted, for a regex lookahead ("[acd]")."""
    return "".join(sorted({form[0] for form in forms}))
