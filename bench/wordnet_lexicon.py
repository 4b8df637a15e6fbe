"""Build `rag/data/wordnet.json.gz`, the lexical data the grounding judge reads (antonyms, common
words, irregular forms, as stems), from WordNet 3.0 (docs/citation-verification.md, "Lexical
data, and what was looked for"). WordNet's licence (below) travels in the file.
`apt-get install wordnet-base` (Princeton WordNet 3.0), then
`python -m bench.wordnet_lexicon [--wordnet /usr/share/wordnet]`
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import tempfile
from pathlib import Path

import Stemmer

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "rag" / "data" / "wordnet.json.gz"
LICENCE = (
    "Derived from WordNet 3.0. WordNet 3.0 Copyright 2006 by Princeton University. All rights "
    "reserved. THIS SOFTWARE AND DATABASE IS PROVIDED \"AS IS\" AND PRINCETON UNIVERSITY MAKES "
    "NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT "
    "LIMITATION, PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANT- "
    "ABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED SOFTWARE, "
    "DATABASE OR DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, "
    "TRADEMARKS OR OTHER RIGHTS. The name of Princeton University or Princeton may not be used "
    "in advertising or publicity pertaining to distribution of the software and/or database. "
    "Title to copyright in this software, database and any associated documentation shall at "
    "all times remain with Princeton University and LICENSEE agrees to preserve same."
)
# The lexicographer files' names, which Debian's package leaves out and nltk's reader needs.
LEXNAMES = (
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
    "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event",
    "noun.feeling", "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object",
    "noun.person", "noun.phenomenon", "noun.plant", "noun.possession", "noun.process",
    "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance", "noun.time",
    "verb.body", "verb.change", "verb.cognition", "verb.communication", "verb.competition",
    "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
    "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather",
    "adj.ppl",
)
SATELLITE_SENSES = 2
# A word takes the antonyms of its synonyms in its most common senses.
SYNSET_SENSES = 2


def reader(wordnet: Path):
    """nltk's WordNet reader over a copy of the database with the lexnames file it expects."""
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class Reader(WordNetCorpusReader):
        def map_wn(self, version: str = "wordnet") -> None:  # no OMW mapping: English only
            return None

    home = Path(tempfile.mkdtemp(prefix="wordnet-"))  # private to us, as nltk requires
    nltk.data.path.insert(0, str(home))
    copy = home / "corpora" / "wordnet"
    copy.mkdir(parents=True)
    for path in wordnet.iterdir():
        if path.name.startswith(("data.", "index.")) or path.suffix == ".exc":
            shutil.copy(path, copy / path.name)
    (copy / "lexnames").write_text("".join(f"{i:02d}\t{name}\t{i // 100}\n"
                                           for i, name in enumerate(LEXNAMES)))
    return Reader(str(copy), None)


def single(name: str) -> str | None:
    return name.lower() if name.isalpha() else None


def build(wordnet: Path) -> dict:
    wn = reader(wordnet)
    stem = Stemmer.Stemmer("english").stemWord
    antonyms: dict[str, set[str]] = {}
    common: set[str] = set()

    def opposite(lemma) -> set[str]:
        words = {lemma.name()} | {other.name() for other in lemma.synset().lemmas()}
        words |= {form.name() for form in lemma.derivationally_related_forms()}
        return {w for w in map(single, words) if w}

    for synset in wn.all_synsets():
        for lemma in synset.lemmas():
            word = single(lemma.name())
            if word is None:
                continue
            if lemma.name().islower():
                common.add(stem(word))
            if synset.pos() == "n":  # nouns' antonyms are mostly technical: offense/defense
                continue
            found = set().union(*(opposite(a) for a in lemma.antonyms()))
            if synset in wn.synsets(word)[:SYNSET_SENSES]:  # "allow" shares "permit"'s
                found |= set().union(*(opposite(a) for other in synset.lemmas()
                                       for a in other.antonyms()))
            if synset.pos() == "s" and synset in wn.synsets(word)[:SATELLITE_SENSES]:
                for head in synset.similar_tos():
                    for head_lemma in head.lemmas():
                        found |= set().union(*(opposite(a) for a in head_lemma.antonyms()))
            stems = {stem(w) for w in found} - {stem(word)}
            if stems:
                antonyms.setdefault(stem(word), set()).update(stems)
    irregular = {}
    for exceptions in sorted(wordnet.glob("*.exc")):
        for line in exceptions.read_text().splitlines():
            form, base, *_ = [*line.split(), ""]
            if form.isalpha() and base.isalpha() and stem(form) != stem(base):
                irregular.setdefault(stem(form), stem(base))
    return {"licence": LICENCE, "source": f"WordNet {wn.get_version()}",
            "antonyms": {k: sorted(v) for k, v in sorted(antonyms.items())},
            "common": sorted(common), "irregular": dict(sorted(irregular.items()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = build(args.wordnet)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.out, "wt", encoding="utf-8", compresslevel=9) as out:
        json.dump(data, out, separators=(",", ":"))
    print(f"{len(data['antonyms'])} stems with antonyms, {len(data['common'])} common stems "
          f"-> {args.out} ({args.out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
