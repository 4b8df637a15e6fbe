"""The README's configuration table is the one the settings classes generate."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import ServerSettings
from api.settings_table import END, START, replaced, table, tables
from rag.config import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_table_is_generated_from_the_settings() -> None:
    text = README.read_text(encoding="utf-8")
    assert replaced(text, tables()) == text, (
        "README.md's settings table is stale: run `python -m api.settings_table --write "
        "README.md`")


def test_every_setting_says_what_it_means() -> None:
    undescribed = [name for name, field in ServerSettings.model_fields.items()
                   if not (field.description or "").strip()]
    assert undescribed == []


def test_every_setting_has_its_row() -> None:
    rows = table(Settings).splitlines()[2:]
    assert len(rows) == len(Settings.model_fields)
    server = table(ServerSettings, exclude=Settings).splitlines()[2:]
    assert len(rows) + len(server) == len(ServerSettings.model_fields)
    assert any(row.startswith("| `RAG_PORT` | `8000` |") for row in server)
    assert not any(row.startswith("| `RAG_PORT`") for row in rows)
    assert any(row.startswith("| `RAG_OPENAI_API_KEY` / `OPENAI_API_KEY` | unset |")
               for row in rows)


def test_a_readme_without_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="markers"):
        replaced("# no table here\n", tables())
    assert START in README.read_text(encoding="utf-8")
    assert END in README.read_text(encoding="utf-8")
