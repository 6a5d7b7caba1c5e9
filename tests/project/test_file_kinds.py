"""collaboratory.file_kinds: a file's kind is told by its content; a renamed or unknown file is
refused with a sentence that says what to attach; sizes are worded one way everywhere."""

from __future__ import annotations

import pytest

from collaboratory import file_kinds
from collaboratory.file_kinds import JPEG, PDF, PNG, TEXT, WORD, FileRefused

CONTENT = {
    PDF: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
    WORD: b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml",
    PNG: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    JPEG: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    TEXT: "nwipe: 3 passes, verified – ok".encode(),
}
LETTERS = (PDF, WORD, PNG, JPEG)
EVIDENCE = (PDF, PNG, JPEG, TEXT)


@pytest.mark.parametrize("kind", [PDF, WORD, PNG, JPEG])
def test_each_kind_is_recognised_by_its_content_alone(kind):
    assert file_kinds.identify_content(CONTENT[kind], LETTERS) is kind


def test_a_recognised_kind_carries_its_stored_type_and_extension():
    assert (JPEG.content_type, JPEG.extension) == ("image/jpeg", ".jpg")
    assert (WORD.extension, PDF.content_type) == (".docx", "application/pdf")


def test_text_is_tried_after_the_binary_kinds():
    # A PDF is ASCII at the start; listed after TEXT it is still taken for a PDF.
    assert file_kinds.identify_content(CONTENT[PDF], (TEXT, PDF)) is PDF
    assert file_kinds.identify_content(CONTENT[TEXT], (TEXT, PDF)) is TEXT


def test_content_of_no_accepted_kind_is_refused_naming_what_to_attach():
    with pytest.raises(FileRefused) as refused:
        file_kinds.identify_content(b"MZ\x90\x00 a program", LETTERS)
    assert refused.value.message == (
        "The file is not a PDF, a Word file (.docx), a PNG image or a JPEG image."
    )


def test_an_accepted_kind_outside_the_callers_list_is_refused():
    with pytest.raises(FileRefused, match="is not a PDF or a PNG image"):
        file_kinds.identify_content(CONTENT[JPEG], (PDF, PNG))


def test_an_empty_file_is_refused():
    with pytest.raises(FileRefused, match="The file is empty."):
        file_kinds.identify_content(b"", LETTERS)
    with pytest.raises(FileRefused, match="The file is empty."):
        file_kinds.check_named_content(b"", name="log.pdf", kinds=EVIDENCE)


@pytest.mark.parametrize(
    ("name", "kind"),
    [("scan.PDF", PDF), ("photo.png", PNG), ("photo.jpeg", JPEG), ("photo.JPG", JPEG)],
)
def test_a_named_file_whose_content_agrees_is_accepted(name, kind):
    assert file_kinds.check_named_content(CONTENT[kind], name=name, kinds=EVIDENCE) is kind


def test_a_renamed_file_is_refused_saying_what_its_name_claims():
    with pytest.raises(FileRefused) as refused:
        file_kinds.check_named_content(CONTENT[PNG], name="wipe-log.pdf", kinds=EVIDENCE)
    assert refused.value.message == (
        "The file's content is not a PDF, though its name ends in .pdf: attach the file "
        "itself, not a renamed one."
    )


def test_a_text_file_must_be_utf8():
    assert file_kinds.check_named_content(CONTENT[TEXT], name="log.txt", kinds=EVIDENCE) is TEXT
    with pytest.raises(FileRefused, match="not UTF-8 text, though its name ends in .txt"):
        file_kinds.check_named_content("café".encode("latin-1"), name="log.txt", kinds=EVIDENCE)


@pytest.mark.parametrize("name", ["log.exe", "log", "log.docx", "log.pdf.exe"])
def test_a_name_of_no_accepted_kind_is_refused_before_the_content_is_read(name):
    with pytest.raises(FileRefused) as refused:
        file_kinds.kind_named(name, EVIDENCE)
    assert refused.value.message == (
        "The file must be a PDF, a PNG image, a JPEG image or UTF-8 text "
        "(.pdf, .png, .jpg, .jpeg, .txt)."
    )


@pytest.mark.parametrize(
    ("size", "words"),
    [
        (10 * 1024 * 1024, "10 MiB"),
        (10 * 1024 * 1024 + 200_000, "10.2 MiB"),
        (300 * 1024, "300 KiB"),
        (1536, "1.5 KiB"),
        (11, "11 bytes"),
    ],
)
def test_sizes_are_described_in_the_units_limits_are_set_in(size, words):
    assert file_kinds.describe_bytes(size) == words


def test_a_file_over_the_limit_is_refused_with_both_sizes():
    limit = 10 * 1024 * 1024
    assert file_kinds.size_problem(limit, limit) is None
    assert file_kinds.size_problem(limit + 1, limit) == (
        "The file is 10.0 MiB, larger than allowed: the limit is 10 MiB. Attach a smaller file."
    )
    file_kinds.check_size(limit, limit)
    with pytest.raises(FileRefused, match="the limit is 10 MiB"):
        file_kinds.check_size(limit + 1, limit)
