"""The words the grounding judge reads meaning from: WordNet's antonyms, common words and
irregular forms (shipped as data, built by `bench/wordnet_lexicon.py`), and the closed classes
no lexical database lists: negators, hedges, quantifiers, and the directions figures move in.
"""

from __future__ import annotations

import functools
import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import Stemmer

DATA = Path(__file__).parent / "data" / "wordnet.json.gz"

# Words that deny what follows them; "can't" and "n't" are spelled out before reading.
NEGATORS = frozenset({"not", "no", "never", "none", "nobody", "nothing", "neither", "nor",
                      "without", "cannot"})
# Verbs that deny their complement: "refused to sign", "declined to say", "ruled out talks".
NEGATING_VERBS = frozenset({"refus", "declin", "fail"})
# Words after a negator that undo it: "not only", "no longer" stays a negation.
NOT_NEGATING_NEXT = frozenset({"only", "just", "merely", "least"})
# Words that make what follows uncertain, planned or conditional ("would" is left out: it is
# also reported speech's "will", "Carrandel said the government would send tankers").
HEDGES = frozenset({
    "could", "may", "might", "can", "consider", "considering", "considered", "plan", "plans",
    "planned", "planning", "expect", "expects", "expected", "likely", "possible", "possibly",
    "try", "tries", "tried", "trying", "aim", "aims", "propose", "proposes", "proposed",
    "hope", "hopes", "hoped", "if", "prepared", "ready", "potential", "potentially", "intend",
    "intends", "intended", "should", "threaten", "threatened", "threatens", "unless",
    "whether", "suspected", "believe", "believes", "believed", "perhaps", "probably",
    "reportedly", "allegedly",
})
# Words that deny by their meaning (negative implicatives and privatives): "did not hurt" may
# be put as "spared", "did not attend" as "missed", so a denial set against one of them is no
# contradiction. `privative` reads them as stems.
PRIVATIVE = frozenset({
    "fail", "refuse", "decline", "neglect", "avoid", "forget", "miss", "lack", "spare",
    "escape", "prevent", "stop", "halt", "block", "ban", "bar", "forbid", "prohibit", "deny",
    "reject", "exclude", "omit", "skip", "abstain", "refrain", "withhold", "cancel", "scrap",
    "abandon", "resist", "absent", "unable", "immune", "exempt", "free", "safe", "end",
    "cease", "quit", "drop", "lose", "without", "spared", "lost",
})
# Words that make a claim absolute or exclusive: a claim may repeat them, not add them.
QUANTIFIERS = frozenset({
    "only", "all", "every", "entire", "entirely", "whole", "never", "always", "none", "sole",
    "solely", "alone", "unanimous", "unanimously", "ever", "first", "fully", "completely",
    "totally", "rarely", "seldom", "exclusively", "everyone", "everybody", "everything",
})
# The two directions a figure or a situation moves in, as stems: any word of one opposes any
# word of the other ("climbed" against "fell"), beyond WordNet's lemma-to-lemma antonyms.
UP = frozenset({
    "rise", "rose", "risen", "rais", "increas", "climb", "grow", "grew", "gain", "jump",
    "surg", "soar", "hike", "boost", "expand", "improv", "strengthen", "higher", "up", "more",
    "acceler", "widen", "lift", "greater", "larger", "bigger", "ad", "add",
})
DOWN = frozenset({
    "fall", "fell", "fallen", "decreas", "cut", "lower", "drop", "declin", "shrink", "shrank",
    "lose", "lost", "plung", "slump", "reduc", "slash", "worsen", "deterior", "weaken", "down",
    "less", "fewer", "slow", "narrow", "sink", "sank", "tumbl", "dip", "smaller", "eas",
    "sour", "strain",
})
# Generic words of titles and organisations: "the Soviet Union" is named by "Soviet".
GENERIC_NAME_WORDS = frozenset({
    "minist", "ministri", "minister", "presid", "govern", "governor", "union", "parti",
    "court", "council", "bank", "associ", "servic", "depart", "agenc", "committe", "commiss",
    "offic", "news", "the", "of", "and", "for", "de", "al", "mr", "ms", "mrs", "dr", "gen",
    "deputi", "chief", "execut", "secretari", "spokesperson", "spokesman", "spokeswoman",
    "general", "prime", "foreign", "defens", "defenc", "interior", "financ", "justic",
    "transport", "environ", "inform", "republ", "feder", "state", "unit", "nation", "intern",
    "citi", "provinc", "region", "author", "center", "centr", "group", "forc", "armi",
    "sir", "lord", "king", "queen", "maj", "lt", "col", "capt", "st", "saint", "sen", "rep",
})
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class WordNet:
    """WordNet's relations as stems (rag.analysis's Snowball analysis)."""

    antonyms: dict[str, frozenset[str]]
    common: frozenset[str]
    irregular: dict[str, str]

    def base(self, stem: str) -> str:
        """The stem of a word's base form ("fell" -> "fall", "women" -> "woman")."""
        if stem in self.irregular:
            return self.irregular[stem]
        if stem.endswith("men") and stem[:-3] + "man" in self.common:  # WordNet's morphy rule
            return stem[:-3] + "man"
        return stem

    def degree_base(self, stem: str) -> str:
        """The adjective a regular comparative or superlative is formed from ("cheapest",
        "cheaper" -> "cheap"; "hotter" -> "hot"), by WordNet's morphy rules for adjectives; a
        word WordNet lists itself ("worker", "closest") stays as it is."""
        stem = self.base(stem)
        if stem in self.common or stem in self.antonyms:
            return stem
        for suffix in ("est", "er"):
            if not stem.endswith(suffix):
                continue
            root = stem[: -len(suffix)]
            roots = [root, stemmer().stemWord(root + "e")]
            if len(root) > 2 and root[-1] == root[-2]:
                roots.append(root[:-1])  # "hotter" -> "hot"
            if root.endswith("i"):
                roots.append(root)  # "easier" -> "easi", the stem of "easy"
            return next((r for r in roots if r in self.antonyms), stem)
        return stem

    def opposed(self, a: str, b: str) -> bool:
        """Whether two stems are antonyms, or name opposite directions (a comparative or
        superlative read as its adjective)."""
        a, b = self.degree_base(a), self.degree_base(b)
        if (a in UP and b in DOWN) or (a in DOWN and b in UP):
            return True
        return b in self.antonyms.get(a, ()) or a in self.antonyms.get(b, ())

    def has_opposite(self, stem: str) -> bool:
        stem = self.degree_base(stem)
        return stem in self.antonyms or stem in UP or stem in DOWN

    def is_common(self, stem: str) -> bool:
        """Whether a word is an ordinary lower-case word of English, not only a name."""
        return self.base(stem) in self.common


@functools.cache
def wordnet() -> WordNet:
    """The shipped WordNet data, loaded once (about 0.1 s)."""
    with gzip.open(DATA, "rt", encoding="utf-8") as source:
        data = json.load(source)
    return WordNet(antonyms={k: frozenset(v) for k, v in data["antonyms"].items()},
                   common=frozenset(data["common"]), irregular=data["irregular"])


@functools.cache
def stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


@functools.lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """A lower-case word's stem, British "-ise" spellings read as "-ize" ("criticised")."""
    found = stemmer().stemWord(word)
    if "is" in word and found not in wordnet().antonyms:
        american = stemmer().stemWord(word.replace("ise", "ize").replace("isi", "izi"))
        if american in wordnet().antonyms:
            return american
    return found


@functools.cache
def privative() -> frozenset[str]:
    """The stems of `PRIVATIVE`'s words."""
    return frozenset(wordnet().base(stem(word)) for word in PRIVATIVE)
