"""Attributions: built from citation metadata only, and read back out of an answer."""

from __future__ import annotations

import datetime as dt

from rag.attribution import attribution_prefix, speakers_named

DAY = dt.date(2024, 3, 17)


def test_an_attribution_names_who_where_and_when_as_far_as_known() -> None:
    assert attribution_prefix("Khawaja Muhammad Asif", "Daily Sabah", DAY) == \
        "Khawaja Muhammad Asif, according to Daily Sabah (2024-03-17): "
    assert attribution_prefix("Khawaja Muhammad Asif", "Daily Sabah", None) == \
        "Khawaja Muhammad Asif, according to Daily Sabah: "
    assert attribution_prefix(None, "TOLOnews", DAY) == "According to TOLOnews (2024-03-17): "
    # No known outlet: the article is named by its date and title, never by a file name.
    assert attribution_prefix(None, None, DAY, title="Terrorism Down") == \
        "According to an article of 17 March 2024, “Terrorism Down”: "
    assert attribution_prefix(None, None, None, title="Terrorism Down") == \
        "According to an article, “Terrorism Down”: "
    assert attribution_prefix("Asif", None, None) == "Asif: "
    assert attribution_prefix(None, None, None) == ""


def test_speakers_are_read_back_most_named_first() -> None:
    answer = (attribution_prefix("Khwaja M Asif", "Example Post", None) + "He spoke. [1] "
              + attribution_prefix("Abdul Matin Qani", "TOLOnews", DAY) + "We do not. [2] "
              + attribution_prefix("Khawaja Muhammad Asif", "Daily Sabah", None) + "Kabul. [3] "
              + attribution_prefix(None, "Daily Sabah", None) + "Talks failed. [4] "
              + attribution_prefix("Khawaja Muhammad Asif", "Arab News", DAY) + "Terror. [5]")
    assert speakers_named(answer) == ["Khawaja Muhammad Asif", "Khwaja M Asif",
                                      "Abdul Matin Qani"]


def test_speakers_are_read_back_past_their_role_and_audience() -> None:
    answer = (attribution_prefix("Khawaja Muhammad Asif (Defence Minister), speaking to Sky News",
                          "India Today", DAY) + "We did. [1] "
              + attribution_prefix("Abdul Matin Qani (spokesperson for the Ministry of Interior)",
                            "TOLOnews", None) + "We do not. [2]")
    assert speakers_named(answer) == ["Khawaja Muhammad Asif", "Abdul Matin Qani"]


def test_text_that_is_no_attribution_names_no_one() -> None:
    assert speakers_named("The minister, according to reports: nothing. [1]x") == []
    assert speakers_named("Kabul fell. Asif, according to him: it was fine.") == []
    assert speakers_named("") == []
