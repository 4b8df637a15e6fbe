"""An outlet the text does not name: inferred from the URL or the site's page furniture, never
taken from the file's name."""

from __future__ import annotations

from api.services import Services
from index.load import Document
from index.outlets import infer_outlet, outlet_from_url
from support import SHARED_CORPUS, needs_shared


def test_a_url_gives_its_site() -> None:
    assert outlet_from_url("https://www.dawn.com/news/1820000") == "dawn.com"
    assert outlet_from_url("tolonews.com/afghanistan-190000") == "tolonews.com"
    assert outlet_from_url("not a url") is None
    assert outlet_from_url(None) is None


def test_page_furniture_names_its_site() -> None:
    pasted = "Headline\nShort Url\nUpdated 17 March 2024\nFollow\n\nISLAMABAD: The minister said."
    assert infer_outlet(pasted, None) == "Arab News"
    assert infer_outlet("Headline\n\nThe minister said.", None) is None


def test_an_article_of_no_known_outlet_keeps_none_not_its_file_name(
        fresh_services: Services) -> None:
    document = Document(text="Port news\n\nThe harbour reopened on Monday after the storm.",
                        kind="text",
                        path="/tmp/uploads/001_6ff8641e48cb97ef.txt")
    report = fresh_services.ingestor.ingest_documents([document])
    (article,) = report.added
    assert article.source is None


@needs_shared
def test_the_seed_articles_outlets_are_never_file_names() -> None:
    from index.clean import clean_text

    for path in sorted(SHARED_CORPUS.glob("00*.txt")):
        raw = path.read_text(encoding="utf-8")
        for cleaned in clean_text(raw):
            outlet = cleaned.source or infer_outlet(raw, None)
            assert outlet != path.stem
    arab_news = next(SHARED_CORPUS.glob("001_*.txt")).read_text(encoding="utf-8")
    assert infer_outlet(arab_news, None) == "Arab News"

