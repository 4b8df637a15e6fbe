"""What a speaker's descriptions say: a role's head noun and words, whether a title leads its
body, and the bodies a person speaks for (named in their role, beside their name, or the one
body their article quotes).

Words compare by stem with British and American spellings made one; how the readings were
chosen: docs/evaluation.md, "Who said what".
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from rag.variants import american_spelling

STEM = 5
HEAD_STEM = 7
# What a demonym or possessive adds to a place's name: "Veltaran" is of Veltara, "Indian" of India.
_NAME_ENDINGS = ("n", "an", "ian", "i", "ese", "ish", "s")
_DETERMINERS = frozenset({"the", "a", "an", "this", "that", "its", "his", "her", "their", "our"})
_PREPOSITIONS = frozenset({"for", "of", "at", "in", "on", "to", "from", "with"})
_POSSESSIVE = re.compile(r"[’']s$")
_SYNONYMS = {"spokesman": "spokesperson", "spokeswoman": "spokesperson",
             "chairman": "chair", "chairwoman": "chair", "chairperson": "chair"}
# Words that name whoever leads a body, whatever its title ("the fire chief", "the VeltaRail
# boss"), and the titles they stand for ("chief executive", "commander", "governor" ...).
LEADER_WORDS = frozenset({"chief", "boss", "head", "leader"})
_LEADING_TITLES = frozenset({"chief", "boss", "head", "leader", "ceo", "commander", "director",
                             "chair", "president", "governor", "premier", "mayor"})
# Nouns naming a body a person can speak for: "union secretary" speaks for a union.
BODY_NOUNS = frozenset({
    "union", "authority", "board", "service", "company", "bank", "council", "ministry",
    "department", "agency", "office", "party", "alliance", "association", "commission",
    "committee", "court", "government", "police", "army", "military", "federation", "group",
    "corporation", "fund", "foundation", "institute", "university", "league", "coalition",
    "movement", "cabinet", "bureau", "directorate", "command", "firm", "club", "trust",
})
# A subject's head ending so names a person ("contractor", "economist", "spokeswoman"): a
# speaker-like subject even when no one quoted has that role.
AGENT_ENDINGS = ("er", "or", "ist", "ian", "man", "woman", "person")
# Titles whose holders speak for their country's government.
_GOVERNMENT_TITLES = frozenset({"minister", "premier", "chancellor"})
GOVERNMENT = "government"
# Titles that name no body of their own: a person holding only these ("chief executive Ravi
# Castellane", "Governor Lucan Dreyfold") speaks for the one body their article quotes.
_OFFICER_TITLES = frozenset({"chief", "executive", "ceo", "spokesperson", "governor", "chair",
                             "president", "director", "secretary", "head", "founder", "manager",
                             "treasurer", "general", "deputy", "senior"})
# Words that qualify a title rather than say where its holder works: a question's "prime
# minister" or "deputy governor" must be the speaker's own title, never read from the setting of
# their article (see `Speaker.fits_role`).
TITLE_QUALIFIERS = frozenset({
    "prime", "deputy", "vice", "acting", "interim", "former", "assistant", "associate",
    "senior", "junior", "first", "chief", "executive", "general", "foreign", "home",
    "interior", "finance", "defense", "justice", "transport", "health", "education",
    "environment", "trade", "economy", "information", "energy", "agriculture", "labor",
    "culture", "housing", "treasury", "state",
})
_NAME_WORD = r"[A-Z][\w’'&.-]*"
_NAME_RUN = rf"{_NAME_WORD}(?:\s+(?:(?:of|and|for|&)\s+)*{_NAME_WORD})*"


@dataclass(frozen=True)
class Membership:
    """A body a person speaks for: its name as written, its head noun's stem, its words'."""

    body: str
    head: str
    words: frozenset[str]


@functools.lru_cache(maxsize=8192)
def normal_name(text: str) -> str:
    """Lower-cased, possessives and punctuation dropped, spaces single."""
    words = [_POSSESSIVE.sub("", w) for w in re.findall(r"[\w’'.-]+", text.lower())]
    return " ".join(w.strip(".’'-") for w in words if w.strip(".’'-"))


def role_words(text: str) -> list[str]:
    """A role's words without determiners, in one spelling ("defence" -> "defense")."""
    words = []
    for word in normal_name(text).split():
        if word in _DETERMINERS:
            continue
        word = _SYNONYMS.get(word, word)
        words.append(american_spelling(word))
    return words


def head(words: list[str]) -> tuple[str, list[str]]:
    """A role's head noun's stem (its last word before a preposition) and its other words."""
    cut = next((i for i, w in enumerate(words) if w in _PREPOSITIONS and i), len(words))
    last = words[cut - 1] if cut else words[-1]
    modifiers = [w for i, w in enumerate(words) if i != cut - 1 and w not in _PREPOSITIONS]
    return head_stem(last), modifiers


def title_head(role: str) -> str | None:
    """The head of a role's title, read after its last possessive ("Federation of Ostmark's
    foreign minister" -> "ministe"), or None for a role without words."""
    after = re.split(r"[’']s\s+", role)[-1]
    words = role_words(after) or role_words(role)
    return head(words)[0] if words else None


def possessors(role: str) -> list[str]:
    """Words a role makes possessive ("the military's media wing" -> "military")."""
    return [_POSSESSIVE.sub("", w).lower() for w in role.split()
            if _POSSESSIVE.search(w) and w[:1].islower()]


def stem(word: str) -> str:
    return word[:STEM]


def head_stem(word: str) -> str:
    return word[:HEAD_STEM]


def same_name(word: str, other: str) -> bool:
    """Whether two words name one thing: equal, or one the other's demonym or possessive
    ("veltaran" and "veltara"; "veltarail" is not "veltara")."""
    short, long = sorted((word, other), key=len)
    return short == long or (len(short) >= STEM and long.startswith(short)
                             and long[len(short):] in _NAME_ENDINGS)


def stems(words: list[str]) -> frozenset[str]:
    return frozenset(stem(w) for w in words)


def leads(role: str) -> bool:
    """Whether a title leads its body: "chief executive", "regional fire commander"."""
    title = title_head(role)
    return (title in {head_stem(t) for t in _LEADING_TITLES}
            or (title == head_stem("executive") and "chief" in role_words(role)))


def anchored(role: str) -> bool:
    """Whether a role names its own country or body by a possessive or "of"/"for" before a
    name ("Federation of Ostmark's foreign minister", "spokesperson for the Ministry of
    Interior", "Mayor of London"): such a speaker's setting never stands in for it."""
    return bool(re.search(rf"{_NAME_WORD}[’']s\b|\b(?:of|for)\s+(?:the\s+)?[A-Z]", role))


def role_bodies(role: str) -> list[Membership]:
    """The bodies a role names: each body noun in it ("union secretary": a union; "Port Averin
    Authority chief executive": an authority), and a government for its ministers."""
    words = role_words(role)
    if not words:
        return []
    found = [Membership(role, head_stem(w), stems(words)) for w in words if w in BODY_NOUNS]
    if title_head(role) in {head_stem(t) for t in _GOVERNMENT_TITLES}:
        found.append(Membership(GOVERNMENT, head_stem(GOVERNMENT), stems(words)))
    return found


def body_membership(name: str) -> Membership:
    """A named body as a membership: "Harbour Workers' Union of Veltara" -> head "union"."""
    words = role_words(name)
    body_head, _ = head(words) if words else ("", [])
    return Membership(name, body_head, stems(words))


def body_beside(text: str, names: list[str]) -> str | None:
    """A body a sentence names right after its speaker ("Councillor Yusuf Brennholt of the
    Green List said ..."), or None."""
    for name in names:
        if not name or name not in text:  # the pattern starts with the name itself
            continue
        found = _beside(name).search(text)
        if found:
            return found["body"]
    return None


@functools.lru_cache(maxsize=8192)
def _beside(name: str) -> re.Pattern[str]:
    """A name, then a body named right after it (compiled once a name: the `re` module keeps
    only a few hundred patterns, and a corpus quotes thousands of names)."""
    return re.compile(rf"{re.escape(name)},?\s+(?:of|at|from)\s+(?:the\s+)?"
                      rf"(?P<body>{_NAME_RUN})")


def officer_only(roles: list[str]) -> bool:
    """Whether every role is a bare officer's title ("chief executive", "Governor")."""
    return bool(roles) and all(role_words(r) and set(role_words(r)) <= _OFFICER_TITLES
                               for r in roles)


def shares_common_noun(role: str, body: str) -> bool:
    """Whether a role's lower-case words name the body ("union secretary" and "Harbour
    Workers' Union of Veltara"; "regional fire commander" and "Veltara Fire and Rescue
    Service"): a word written in lower case in the role is a common noun, never a name."""
    lower = {american_spelling(w) for w in re.findall(r"\b[a-z][\w-]*", role)}
    lower -= _OFFICER_TITLES | _LEADING_TITLES | _DETERMINERS | _PREPOSITIONS
    return bool(lower & set(role_words(body)))
