"""Character encodings of article files: found, not guessed at random; binary stays refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.encoding import decode_text
from index.files import UnreadableFile
from index.load import read_file

FRENCH = ("Le ministre a déclaré lundi que la réforme des retraites était « nécessaire » "
          "à l’économie, et qu’elle serait votée à l’Assemblée avant l’été.\n")
POLISH = "Wojewoda powiedział, że rząd podjął decyzję w sprawie dróg i mostów na Śląsku.\n"
RUSSIAN = "Министр заявил, что реформа необходима и будет принята до конца года.\n"
ENGLISH = ("The minister said the talks would resume on Friday. “We are not there yet,” "
           "she told reporters outside the ministry in Port Averin on Monday evening.\n")


@pytest.mark.parametrize(("text", "codec"), [
    (FRENCH * 3, "utf-16"),
    (FRENCH * 3, "utf-8-sig"),
    (FRENCH * 3, "utf-32"),
    (ENGLISH * 10, "cp1252"),  # nearly all ASCII: curly quotes only
    (FRENCH * 10, "cp1252"),
    (POLISH * 10, "cp1250"),
    (RUSSIAN * 10, "cp1251"),
    (RUSSIAN * 10, "koi8-r"),
])
def test_text_files_in_other_encodings_are_read(tmp_path: Path, text: str, codec: str) -> None:
    path = tmp_path / "story.txt"
    path.write_bytes(text.encode(codec))
    (document,) = read_file(path)
    assert document.text == text


def test_a_declared_charset_is_honoured(tmp_path: Path) -> None:
    body = "".join(f"<p>{FRENCH.strip()} Paragraphe {i}.</p>" for i in range(4))
    page = (f'<html><head><meta http-equiv="Content-Type" content="text/html; '
            f'charset=ISO-8859-1"><title>Retraites</title></head><body><article>'
            f"{body}</article></body></html>")
    path = tmp_path / "page.html"
    path.write_bytes(page.replace("’", "'").encode("iso-8859-1"))
    (document,) = read_file(path)
    assert "Le ministre a déclaré lundi que la réforme" in document.text
    assert "« nécessaire »" in document.text


def test_utf8_with_a_stray_byte_keeps_its_text() -> None:
    data = FRENCH.encode() * 5 + b"A broken \x92 quote.\n"
    text = decode_text(data)
    assert text.startswith(FRENCH) and text.endswith("A broken \ufffd quote.\n")


@pytest.mark.parametrize(("data", "reason"), [
    (ENGLISH.encode() * 200 + b"\x00\x01" + ENGLISH.encode(), "binary"),  # past the first 8 KB
    ("\ufeffA story\x00 with a NUL".encode("utf-16"), "binary"),
    (bytes(range(1, 256)) * 40, "no character encoding"),
])
def test_binary_content_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableFile, match=reason):
        decode_text(data)
