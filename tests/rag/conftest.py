"""A small hand-written news corpus for the retrieval and answering tests.

Every article is built so the right answer to its test question is known by construction: one
rare name per story, distinct outlets and dates, one undated story, one long story that splits
into many chunks, and a story whose words a paraphrase never uses.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from api.services import Services
from index.load import Document
from rag.embeddings import Encoder
from support import make_services

# Small chunks, so the long tram story splits into many chunks and the others stay whole.
CHUNK_SETTINGS = {"chunk_tokens": 64, "chunk_overlap": 8}

PORT = Document(
    kind="record", path="port.json", title="Dockworkers strike at Port Averin",
    source="Harbour Times", published=dt.date(2024, 3, 4),
    text=("About 4,000 dockworkers went on strike at Port Averin on Monday over pay. "
          "Union leader Marta Kessling said the striking crews would stay out until wages "
          "rose. Container ships queued outside the harbour."),
)
VOLCANO = Document(
    kind="record", path="volcano.json", title="Eruption on Ostrova",
    source="Island Courier", published=dt.date(2024, 1, 15),
    text=("Lava poured down the slopes of Mount Ostrova overnight. A towering plume of ash "
          "forced airlines to cancel flights across the island, and villagers fled their "
          "homes."),
)
BUDGET = Document(
    kind="record", path="budget.json", title="Quillfeather unveils budget",
    source="Capital Ledger", published=dt.date(2024, 5, 10),
    text=("Finance minister Aurelia Quillfeather unveiled a budget that cuts fuel taxes. "
          "Quillfeather said the cuts would be paid for by a levy on bank profits. "
          "Opposition parties called the plan reckless."),
)
TRAM_PARAGRAPHS = [
    "The city council approved the new tram line on Tuesday after a long debate.",
    "The tram line will link the railway station with the university campus.",
    "Councillors said the tram would cut car traffic in the old town.",
    "Construction of the tram tracks starts next spring and lasts two years.",
    "Residents along the tram route worried about noise during construction.",
    "The tram depot will be built on a former car park near the river.",
    "Officials expect twenty thousand tram passengers a day once the line opens.",
    "The tram project is paid for by the city and a regional transport fund.",
    "Shop owners hope the tram brings more customers to the high street.",
    "A second tram line to the airport is being studied by the council.",
    "The mayor called the tram vote the most important decision of her term.",
    "Cyclists asked for protected lanes beside the new tram tracks.",
    "The tram cars will be built by a manufacturer in the north of the country.",
    "Tickets for the tram will cost the same as a bus fare.",
    "Night trams will run on weekends during the summer festival season.",
    "The council will publish the final tram timetable a month before opening.",
]
TRAM = Document(
    kind="record", path="tram.json", title="Council approves tram line",
    source="Metro Gazette", published=dt.date(2024, 6, 1), text="\n\n".join(TRAM_PARAGRAPHS),
)
BEETLE = Document(
    kind="record", path="beetle.json", title="New beetle species found",
    source="Science Wire", published=None,
    text=("Researchers found a new beetle species in the Verdania rainforest. The beetle has "
          "iridescent green wings and lives in the canopy."),
)
BAKERY = Document(
    kind="record", path="bakery.json", title="Thornbury bakery wins prize",
    source="Village Post", published=dt.date(2024, 2, 14),
    text=("The Thornbury bakery won a national prize for its sourdough bread. The baker "
          "credited a starter culture kept alive for forty years."),
)
FLOOD = Document(
    kind="record", path="flood.json", title="Homes evacuated as river bursts banks",
    source="Harbour Times", published=dt.date(2024, 4, 20),
    text=("Rivers burst their banks and water swept through homes after days of torrential "
          "rain. Emergency crews rescued families from rooftops by boat."),
)
DOCUMENTS = [PORT, VOLCANO, BUDGET, TRAM, BEETLE, BAKERY, FLOOD]


def ingest_small_corpus(services: Services) -> dict[str, str]:
    """Store the corpus; returns each document's path mapped to its article id."""
    report = services.ingestor.ingest_documents(DOCUMENTS)
    assert len(report.added) == len(DOCUMENTS), report.summary()
    return {article.path: article.id for article in report.added}


@pytest.fixture(scope="module")
def small_services(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Services:
    """The small corpus in a store of the module's own (read-only use)."""
    services = make_services(tmp_path_factory.mktemp("small"), encoder, **CHUNK_SETTINGS)
    ingest_small_corpus(services)
    return services


@pytest.fixture(scope="module")
def ids(small_services: Services) -> dict[str, str]:
    """Path of each small-corpus document -> its article id."""
    store = small_services.engine.store
    return {store.get_article(a).path: a for a in store.article_ids()}


@pytest.fixture
def fresh_small(tmp_path: Path, encoder: Encoder) -> tuple[Services, dict[str, str]]:
    """The small corpus in a store of the test's own, for tests that write."""
    services = make_services(tmp_path / "store", encoder, **CHUNK_SETTINGS)
    return services, ingest_small_corpus(services)
