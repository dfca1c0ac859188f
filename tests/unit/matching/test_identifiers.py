from services.matching.identifiers import nhs_number_is_valid, upn_is_valid


def test_nhs_number_check_digit() -> None:
    assert nhs_number_is_valid("943 476 5919")
    assert nhs_number_is_valid("943-476-5919")
    assert not nhs_number_is_valid("9434765918")
    assert not nhs_number_is_valid("94347659")
    assert not nhs_number_is_valid(None)


def test_upn_check_letter_permanent_and_temporary() -> None:
    assert upn_is_valid("H801200001001")
    assert upn_is_valid("G80120000101A")
    assert upn_is_valid("P207000016049")
    assert not upn_is_valid("Z801200001001")
    assert not upn_is_valid("G80120000101S")
    assert not upn_is_valid("")
