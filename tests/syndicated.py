"""Fictional articles for the syndication tests: a wire story, two lightly edited copies of it
by other outlets, and a different story on the same topic (as JSON upload bodies)."""

from __future__ import annotations

_PARAGRAPHS = [
    "Engineers closed the Halvard Bridge over the Senna estuary on Tuesday after inspectors "
    "found cracks in two of its steel bearings, cutting the main road link between the port "
    "town of Kessmoor and the regional capital, Orlenvik.",
    "The Coastal Roads Agency said the bridge, which carries about 31,000 vehicles a day, "
    "would stay shut for at least six weeks while the bearings are replaced. Traffic is being "
    "sent over the old Marrow Ferry crossing, adding up to 50 minutes to the journey.",
    "\"We will not reopen a structure we cannot vouch for, not for one hour,\" agency director "
    "Odile Marsk told reporters at the toll plaza. \"The cracks are small, but they are in "
    "exactly the place where a bridge cannot afford them.\"",
    "Marsk said the agency had ordered replacement bearings from a foundry in Tessaly and "
    "expected the first pair to arrive within three weeks.",
    "Kessmoor's mayor, Benedikt Aaro, said the closure would hurt the town's fish market, "
    "which sends most of its catch to Orlenvik by lorry before dawn. \"Our traders have a "
    "window of a few hours, and the ferry cannot carry them all,\" Aaro said.",
    "The bridge opened in 1987 and was last strengthened in 2011. A full inspection had been "
    "due in the spring but was brought forward after a lorry driver reported a loud bang on "
    "the southern span in late February.",
    "The agency said it would run a free shuttle bus for foot passengers and cyclists across "
    "the ferry from Thursday, every 20 minutes from six in the morning until midnight.",
]

WIRE = {
    "title": "Halvard Bridge shut for six weeks after cracks found in bearings",
    "source": "Estuary Wire",
    "published": "2025-03-11",
    "author": "Petra Lindqvist",
    "url": "https://estuarywire.example/2025/03/11/halvard-bridge-shut",
    "text": "ORLENVIK, March 11 (Estuary Wire) - " + "\n\n".join(_PARAGRAPHS),
}

# Another outlet's copy: headline, dateline and byline changed, the history paragraph trimmed.
LEDGER = {
    "title": "Cracked bearings close Halvard Bridge, Kessmoor cut off from Orlenvik",
    "source": "Kessmoor Ledger",
    "published": "2025-03-12",
    "author": "Ledger staff",
    "url": "https://kessmoorledger.example/news/halvard-bridge-closed",
    "text": "KESSMOOR, March 12 - " + "\n\n".join(p for n, p in enumerate(_PARAGRAPHS) if n != 5),
}

# A third copy: new headline and dateline, one sentence reworded, the last paragraph trimmed.
COURIER = {
    "title": "Estuary bridge closure: what drivers need to know",
    "source": "Orlenvik Courier",
    "published": "2025-03-12",
    "author": "Courier wire desk",
    "url": "https://orlenvikcourier.example/roads/halvard-bridge",
    "text": "ORLENVIK (Orlenvik Courier) - " + "\n\n".join(
        [_PARAGRAPHS[0].replace("Engineers closed", "Road engineers shut"),
         _PARAGRAPHS[1].replace("adding up to 50 minutes to the journey",
                                "which can add as much as 50 minutes to a trip"),
         *_PARAGRAPHS[2:6]]),
}

# A different story on the same bridge, weeks later: same topic, names and places.
REOPENING = {
    "title": "Halvard Bridge to reopen early as new bearings arrive",
    "source": "Estuary Wire",
    "published": "2025-04-02",
    "author": "Petra Lindqvist",
    "url": "https://estuarywire.example/2025/04/02/halvard-bridge-reopen",
    "text": "ORLENVIK, April 2 (Estuary Wire) - The Halvard Bridge over the Senna estuary will "
    "reopen to cars on April 14, a week earlier than planned, after the replacement bearings "
    "arrived from Tessaly ahead of schedule, the Coastal Roads Agency said on Wednesday.\n\n"
    "Lorries over 12 tonnes will have to keep using the Marrow Ferry crossing until a load "
    "test is completed at the end of April, agency director Odile Marsk said.\n\n"
    "\"The new bearings are in, the welds have passed their checks, and we are now testing "
    "the deck the way a bridge should be tested, slowly,\" Marsk said at a briefing in "
    "Orlenvik.\n\n"
    "Kessmoor traders said the three-week closure had cost the fish market about a fifth of "
    "its usual sales. Mayor Benedikt Aaro welcomed the early reopening but asked the agency "
    "to pay for the extra ferry trips the town had chartered.\n\n"
    "The agency said the free shuttle bus across the ferry would run until the bridge "
    "reopens to all traffic.",
}

COPIES = [WIRE, LEDGER, COURIER]
