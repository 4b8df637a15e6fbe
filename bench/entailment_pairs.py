"""Weakly labelled entailment pairs in the manner of FactCC (Kryscinski et al. 2020), made from
the news sentences of MultiHop-RAG's corpus (ODC-BY 1.0): each premise is one to three
sentences of an article, each hypothesis a rewrite of them that it entails (a clause,
modifiers dropped, WordNet synonyms, an attribution reordered, a number written otherwise, two
facts joined) or does not (negation, a WordNet antonym or the other direction, names swapped
or replaced, another speaker, number, date, an absolute or a certainty added, another sentence)
(docs/citation-verification.md, "An entailment model as one more signal").
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rag.cite import claim_clauses
from rag.lexicon import DOWN, UP, stem
from rag.reading import read
from rag.sentences import sentence_spans

_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d[\d,.]*%?")
_AUX = re.compile(r"\b(is|are|was|were|will|would|can|could|has|have|had|should|may|might|must|"
                  r"does|do|did)\b")
_NEGATED = re.compile(r"\b(is|are|was|were|will|would|can|could|has|have|had|should|does|do|"
                      r"did) not\b|\b(isn't|aren't|wasn't|weren't|won't|wouldn't|can't|"
                      r"couldn't|hasn't|haven't|hadn't|doesn't|don't|didn't)\b")
_CONTRACTED = {"isn't": "is", "aren't": "are", "wasn't": "was", "weren't": "were",
               "won't": "will", "wouldn't": "would", "can't": "can", "couldn't": "could",
               "hasn't": "has", "haven't": "have", "hadn't": "had", "doesn't": "does",
               "don't": "do", "didn't": "did"}
_SAID = re.compile(r"^[\"“]?(?P<body>.+?)[,\"”]*\s*[,\"”]\s*(?P<who>(?:[A-Z][\w.'-]*\s?){1,4}|"
                   r"(?:he|she|they))\s+(?:said|says|told reporters)\.?$")
_SAID_FIRST = re.compile(r"^(?P<who>(?:[A-Z][\w.'-]*\s){1,4})(?:said|says) (?:that )?"
                         r"(?P<body>.+)$")
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_HEDGE_SWAPS = [(r"\bcould\b", "will"), (r"\bmay\b", "will"), (r"\bmight\b", "will"),
                (r"\bwould consider\b", "will"), (r"\bis expected to\b", "will"),
                (r"\bare expected to\b", "will"), (r"\bplans to\b", "will"),
                (r"\bplan to\b", "will"), (r"\bis likely to\b", "will"),
                (r"\bare likely to\b", "will"), (r"\bestimated\b", "confirmed"),
                (r"\bpossible\b", "certain"), (r"\bprobably\b", "certainly"),
                (r"\breportedly\b", "officially"), (r"\ballegedly\b", ""),
                (r"\bsuspected\b", "confirmed"), (r"\bhopes to\b", "will"),
                (r"\baims to\b", "will"), (r"\bis set to\b", "has"),
                (r"\bproposed\b", "approved"), (r"\bconsidering\b", "adopting")]
_QUANTIFY = [(r"\bsome\b", "all"), (r"\bmany\b", "all"), (r"\bseveral\b", "all"),
             (r"\bmost\b", "all"), (r"\boften\b", "always"), (r"\bsometimes\b", "always"),
             (r"\ba few\b", "all the"), (r"\bone of the\b", "the only")]
_INSERT_QUANTIFIER = ["only", "all", "never", "always", "entirely", "unanimously", "first ever"]
_UP_WORDS = {"rose": "fell", "risen": "fallen", "rise": "fall", "rises": "falls",
             "increased": "decreased", "increase": "decrease", "increases": "decreases",
             "gained": "lost", "grew": "shrank", "higher": "lower", "more": "fewer",
             "raised": "cut", "climbed": "dropped", "jumped": "plunged", "surged": "slumped",
             "boosted": "reduced", "expanded": "contracted", "improved": "worsened",
             "up": "down", "larger": "smaller", "bigger": "smaller", "above": "below",
             "strengthened": "weakened", "accelerated": "slowed", "widened": "narrowed",
             "before": "after", "won": "lost", "approved": "rejected", "accepted": "rejected",
             "support": "oppose", "supported": "opposed", "allowed": "banned",
             "praised": "criticised", "agreed": "refused", "early": "late", "best": "worst",
             "strong": "weak", "positive": "negative", "success": "failure", "open": "closed",
             "opened": "closed", "start": "end", "started": "ended", "began": "ended",
             "hired": "fired", "bought": "sold", "buy": "sell", "profit": "loss"}
_OPPOSITES = {**_UP_WORDS, **{v: k for k, v in _UP_WORDS.items()}}


@dataclass(frozen=True)
class Pair:
    """One premise, one hypothesis, whether the premise entails it, and how it was made."""

    premise: tuple[str, ...]  # its sentences
    hypothesis: str
    entailed: bool
    kind: str


def article_sentences(body: str) -> list[str]:
    """An article's sentences fit to make pairs from: 8 to 45 words, ending a sentence."""
    found = []
    for start, end in sentence_spans(body):
        text = body[start:end].strip()
        words = len(text.split())
        if 8 <= words <= 45 and text[-1] in ".\"”" and text[0].isupper():
            found.append(text)
    return found


class Rewriter:
    """The rewrites, each a function of (sentence, article names, rng) -> text or None."""

    def __init__(self, wordnet) -> None:
        self._wn = wordnet

    # -- entailed ---------------------------------------------------------------------------
    def clause(self, text: str, names: list[str], rng: random.Random) -> str | None:
        parts = [p.strip(" ,;") for p in claim_clauses(text)]
        parts = [p for p in parts if len(read(p).stems) >= 4]
        if len(parts) < 2:
            return None
        part = rng.choice(parts)
        return _sentence(part)

    def drop_modifiers(self, text: str, names: list[str], rng: random.Random) -> str | None:
        out = re.sub(r"\s*\([^)]*\)", "", text)
        out = re.sub(r",\s+(?:who|which)\s[^,]+,", "", out)
        out = re.sub(r"\b(?:very|also|just|still|already|really|largely|nearly|roughly|"
                     r"about|around|some)\s+", "", out)
        out = re.sub(r"\s+\b\w+ly\b(?=\s)", "", out) if rng.random() < 0.5 else out
        return out if out != text and len(out.split()) >= 5 else None

    def synonyms(self, text: str, names: list[str], rng: random.Random) -> str | None:
        words = text.split(" ")
        order = list(range(1, len(words)))
        rng.shuffle(order)
        changed = 0
        for i in order:
            word = words[i].strip(".,;:\"“”")
            if not word.isalpha() or not word.islower() or len(word) < 4:
                continue
            synsets = self._wn.synsets(word)
            if not synsets or (synsets[0].pos() == "n" and rng.random() < 0.5):
                continue
            lemmas = [lemma.name() for lemma in synsets[0].lemmas()
                      if lemma.name().isalpha() and lemma.name().lower() != word]
            if not lemmas or self._wn.morphy(word) != word:
                continue  # only base forms: the synonym needs no inflection
            words[i] = words[i].replace(word, lemmas[0].lower())
            changed += 1
            if changed >= rng.choice((1, 2)):
                break
        return " ".join(words) if changed else None

    def attribution(self, text: str, names: list[str], rng: random.Random) -> str | None:
        quoted = _SAID.match(text)
        if quoted and quoted["who"] not in ("he", "she", "they"):
            body = quoted["body"].strip("\"“” ,")
            return f"{quoted['who'].strip()} said {_lower_first(body)}."
        first = _SAID_FIRST.match(text)
        if first:
            body = first["body"].rstrip(".")
            return f"{_sentence(body)}, {first['who'].strip()} said."
        return None

    def number_format(self, text: str, names: list[str], rng: random.Random) -> str | None:
        out = re.sub(r"(\d),(\d{3})\b", r"\1\2", text)
        out = re.sub(r"\bpercent\b", "per cent", out) if out == text else out
        out = re.sub(r"%", " percent", out) if out == text else out
        small = {str(n): w for n, w in enumerate((
            "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
            "ten"))}
        if out == text:
            out = re.sub(r"\b([2-9]|10)\b(?![,.]\d)", lambda m: small[m[1]], text, count=1)
        return out if out != text else None

    # -- not entailed -----------------------------------------------------------------------
    def negate(self, text: str, names: list[str], rng: random.Random) -> str | None:
        if _NEGATED.search(text):
            def undo(m: re.Match) -> str:
                return m[1] if m[1] else _CONTRACTED[m[2].lower()]
            return _NEGATED.sub(undo, text, count=1)
        aux = _AUX.search(text)
        if aux:
            return text[:aux.end()] + " not" + text[aux.end():]
        for i, word in enumerate(words := text.split(" ")):
            if i and word.endswith("ed") and word.isalpha() and word.islower():
                base = self._wn.morphy(word, "v")
                if base and base != word:
                    words[i] = f"did not {base}"
                    return " ".join(words)
        return None

    def antonym(self, text: str, names: list[str], rng: random.Random) -> str | None:
        words = text.split(" ")
        order = list(range(len(words)))
        rng.shuffle(order)
        for i in order:
            word = words[i].strip(".,;:\"“”")
            if word.lower() in _OPPOSITES and rng.random() < 0.7:
                words[i] = words[i].replace(word, _OPPOSITES[word.lower()])
                return " ".join(words)
            if not word.isalpha() or not word.islower():
                continue
            for synset in self._wn.synsets(word)[:2]:
                if synset.pos() == "n":
                    continue
                for lemma in synset.lemmas():
                    if lemma.name() == word and lemma.antonyms():
                        words[i] = words[i].replace(word, lemma.antonyms()[0].name())
                        return " ".join(words)
        for i in order:  # a word of one direction for one of the other
            word = words[i].strip(".,;:\"“”")
            if word.islower() and stem(word) in UP | DOWN and word in _OPPOSITES:
                words[i] = words[i].replace(word, _OPPOSITES[word])
                return " ".join(words)
        return None

    def swap_names(self, text: str, names: list[str], rng: random.Random) -> str | None:
        found = [n for n in _names(text) if text.find(n) > 0]
        found = list(dict.fromkeys(found))
        if len(found) < 2:
            return None
        a, b = rng.sample(found, 2)
        if a in b or b in a:
            return None
        return text.replace(a, "\0").replace(b, a).replace("\0", b)

    def replace_name(self, text: str, names: list[str], rng: random.Random) -> str | None:
        found = list(dict.fromkeys(_names(text)))
        others = [n for n in names if n not in text and all(n not in f and f not in n
                                                            for f in found)]
        if not found or not others:
            return None
        name = rng.choice(found)
        similar = [o for o in others if len(o.split()) == len(name.split())] or others
        return text.replace(name, rng.choice(similar))

    def speaker(self, text: str, names: list[str], rng: random.Random) -> str | None:
        match = _SAID.match(text) or _SAID_FIRST.match(text)
        if not match or match["who"] in ("he", "she", "they"):
            return None
        who = match["who"].strip()
        people = [n for n in names if len(n.split()) >= 2 and n != who and n not in text]
        if not people:
            return None
        return text.replace(who, rng.choice(people), 1)

    def number(self, text: str, names: list[str], rng: random.Random) -> str | None:
        numbers = [m for m in re.finditer(r"\b\d[\d,]*(?:\.\d+)?\b", text)]
        if not numbers:
            return None
        m = rng.choice(numbers)
        value = m[0].replace(",", "")
        try:
            number = float(value)
        except ValueError:
            return None
        if 1900 <= number <= 2100 and "." not in value:
            new = str(int(number) + rng.choice((-2, -1, 1, 2)))
        else:
            factor = rng.choice((0.5, 0.8, 1.25, 1.5, 2, 3))
            changed = number * factor if number * factor != number else number + 1
            new = f"{changed:.1f}" if "." in value else f"{round(changed):,}"
            if new.replace(",", "") == value:
                new = str(int(number) + 7)
        return text[:m.start()] + new + text[m.end():]

    def date(self, text: str, names: list[str], rng: random.Random) -> str | None:
        for options in (_MONTHS, _DAYS):
            present = [w for w in options if re.search(rf"\b{w}\b", text)]
            if present:
                old = rng.choice(present)
                new = rng.choice([w for w in options if w != old])
                return re.sub(rf"\b{old}\b", new, text, count=1)
        for word, other in (("yesterday", "last week"), ("last week", "last year"),
                            ("last year", "this year"), ("next week", "next year"),
                            ("today", "last month"), ("last month", "next month")):
            if word in text:
                return text.replace(word, other, 1)
        return None

    def quantifier(self, text: str, names: list[str], rng: random.Random) -> str | None:
        for pattern, new in rng.sample(_QUANTIFY, len(_QUANTIFY)):
            if re.search(pattern, text):
                return re.sub(pattern, new, text, count=1)
        aux = _AUX.search(text)
        if aux:
            word = rng.choice(("only", "never", "always", "entirely", "all"))
            return text[:aux.end()] + f" {word}" + text[aux.end():]
        words = text.split(" ")
        i = rng.randrange(1, len(words))
        words.insert(i, rng.choice(_INSERT_QUANTIFIER))
        return " ".join(words)

    def modality(self, text: str, names: list[str], rng: random.Random) -> str | None:
        for pattern, new in rng.sample(_HEDGE_SWAPS, len(_HEDGE_SWAPS)):
            if re.search(pattern, text):
                return re.sub(r"\s+", " ", re.sub(pattern, new, text, count=1))
        condition = re.match(r"^(?:If|Unless) [^,]+, (.+)$", text)
        if condition:
            return _sentence(condition[1])
        return None

    def entailed(self) -> list[Callable]:
        return [self.clause, self.drop_modifiers, self.synonyms, self.attribution,
                self.number_format]

    def not_entailed(self) -> list[Callable]:
        return [self.negate, self.antonym, self.swap_names, self.replace_name, self.speaker,
                self.number, self.date, self.quantifier, self.modality]


def _names(text: str) -> list[str]:
    """Runs of capitalised words not opening the sentence (names, roughly)."""
    found = re.findall(r"(?<![.!?]\s)(?<!^)\b((?:[A-Z][a-z]+(?:\s|$)){1,3})", text)
    return [f.strip() for f in found if f.strip() and f.strip() not in _MONTHS + _DAYS]


def _sentence(text: str) -> str:
    text = re.sub(r"^(?:and|but|while|whereas|although|though|because)\s+", "",
                  text.strip(" ,;:\"“”"), flags=re.IGNORECASE)
    text = text[0].upper() + text[1:] if text else text
    return text if text.endswith(".") else text + "."


def _lower_first(text: str) -> str:
    first = text.split(" ", 1)[0]
    if first in ("I",) or (len(first) > 1 and first[1:].lower() != first[1:]):
        return text
    return text[0].lower() + text[1:] if read(first).names == () else text


def pairs(articles: list[dict], wordnet, seed: int = 13,
          per_article: int = 10) -> Iterator[Pair]:
    """Pairs from each article: `per_article` sentences, each made a premise (alone or with its
    neighbour) and rewritten once each way, with a join, another sentence and an added fact."""
    rng = random.Random(seed)
    rewriter = Rewriter(wordnet)
    for article in articles:
        sentences = article_sentences(article["body"])
        if len(sentences) < 3:
            continue
        names = list(dict.fromkeys(n for s in sentences for n in _names(s)))
        chosen = rng.sample(range(len(sentences)), min(per_article, len(sentences)))
        for i in chosen:
            sentence = sentences[i]
            neighbour = i + 1 if i + 1 < len(sentences) else i - 1
            context = rng.random() < 0.5
            premise = ((sentence,) if not context else
                       (sentences[min(i, neighbour)], sentences[max(i, neighbour)]))
            yield from _rewrites(rewriter.entailed(), True, sentence, premise, names, rng)
            yield from _rewrites(rewriter.not_entailed(), False, sentence, premise, names, rng)
            if rng.random() < 0.3:
                yield Pair(premise, sentence, True, "same")
            joined = (sentences[min(i, neighbour)], sentences[max(i, neighbour)])
            a = rewriter.clause(sentences[i], names, rng) or sentences[i]
            b = rewriter.clause(sentences[neighbour], names, rng) or sentences[neighbour]
            yield Pair(joined, f"{a[:-1]}, and {_lower_first(b)}", True, "join")
            far = [j for j in range(len(sentences)) if abs(j - i) > 1]
            if far and rng.random() < 0.6:
                other = sentences[rng.choice(far)]
                yield Pair(premise, other, False, "other_sentence")
                extra = rewriter.clause(other, names, rng) or other
                yield Pair(premise, f"{sentence[:-1]}, and {_lower_first(extra)}", False,
                           "added_fact")


def _rewrites(rewrites: list[Callable], entailed: bool, sentence: str,
              premise: tuple[str, ...],
              names: list[str], rng: random.Random) -> Iterator[Pair]:
    """One or two rewrites of the sentence of this polarity that apply."""
    order = rewrites[:]
    rng.shuffle(order)
    made = 0
    for rewrite in order:
        text = rewrite(sentence, names, rng)
        if text and text != sentence and text.strip():
            yield Pair(premise, text, entailed, rewrite.__name__)
            made += 1
            if made >= 2:
                return
