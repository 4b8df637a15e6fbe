"""Prompt templates ship as package data and load by name."""

from __future__ import annotations

import pytest

import prompts


def test_answer_templates_load() -> None:
    system = prompts.load("answer_system")
    assert "[1]" in system and "<source>" in system
    assert "{question}" in prompts.load("answer_user")


def test_unknown_template_is_a_clear_error() -> None:
    with pytest.raises(FileNotFoundError, match="no_such"):
        prompts.load("no_such")
