"""The XML helpers the parsers read partner files with: what they return for repeats, blanks and paths."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from connectors.common.identifiers import upn_check_letter
from connectors.common.xml import find_all, text, texts

DOC = ET.fromstring(
    "<Pupil><Surname>  </Surname><Surname> EXAMPLE </Surname><Surname>SECOND</Surname><Forename>Amina</Forename>"
    "<Empty/><Contacts><Contact><Order>1</Order></Contact><Contact><Order>2</Order></Contact></Contacts>"
    "<Contacts><Contact><Order>3</Order></Contact></Contacts>"
    "<A><B><C>deep 1</C></B><B><C>deep 2</C><C>deep 3</C></B></A></Pupil>"
)


def test_texts_keeps_the_first_non_blank_text_of_a_repeated_tag() -> None:
    assert texts(DOC) == {"Surname": "EXAMPLE", "Forename": "Amina"}
    assert texts(None) == {}


def test_find_all_follows_every_branch_of_a_path_in_document_order() -> None:
    assert [text(c, "Order") for c in find_all(DOC, "Contacts/Contact")] == ["1", "2", "3"]
    assert [c.text for c in find_all(DOC, "A/B/C")] == ["deep 1", "deep 2", "deep 3"]
    assert [c.tag for c in find_all(DOC, "Forename")] == ["Forename"]
    assert find_all(DOC, "Missing/Contact") == []


def test_text_takes_the_first_element_at_each_step() -> None:
    assert text(DOC, "Contacts/Contact/Order") == "1"
    assert text(DOC, "Empty") is None
    assert text(DOC, "Nowhere/Order") is None


def test_upn_check_letter_refuses_bodies_it_cannot_weigh() -> None:
    assert upn_check_letter("801200001002") == "X"  # so the H801200001002 fails its check
    for body in ("80120000100", "8012000010021", "80120000100I", "80120000100a"):
        try:
            upn_check_letter(body)
        except ValueError:
            continue
        raise AssertionError(f"{body!r} should be refused")
