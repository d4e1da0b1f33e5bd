from classifiers.fields import (
    SEPARATOR_PREFIX,
    DossierStart,
    decide_dossier,
    dossier_start,
    find_dossier_codes,
    is_dossier_code,
    separator_payload,
)


def test_dossier_code_format_and_date_check() -> None:
    assert is_dossier_code("000.00.21.H61-250401-0001")
    assert not is_dossier_code("000.00.21.H61-251301-0001"), "month 13"
    assert not is_dossier_code("000.00.21.H61-250401-001")


def test_labelled_printed_code_with_ocr_damage_is_found() -> None:
    hits = find_dossier_codes([(1, "Mã hồ sơ: 000.00.21.H61 - 25O401-0001\nkhác", [])])
    decision = decide_dossier(hits)
    assert decision.code == "000.00.21.H61-250401-0001" and decision.source == "text"


def test_barcode_wins_and_conflicts_are_reported_not_guessed() -> None:
    from_barcode = decide_dossier(
        find_dossier_codes([(1, "no code here", ["000.00.21.H61-250401-0002|1.001193"])])
    )
    assert from_barcode.code == "000.00.21.H61-250401-0002" and from_barcode.source == "barcode"
    conflict = decide_dossier(
        find_dossier_codes(
            [(1, "Mã hồ sơ: 000.00.21.H61-250401-0001", []), (2, "Mã hồ sơ: 000.00.21.H61-250402-0009", [])]
        )
    )
    assert conflict.code is None
    assert conflict.conflict == ("000.00.21.H61-250401-0001", "000.00.21.H61-250402-0009")


def test_unlabelled_mention_counts_only_without_stronger_evidence() -> None:
    hits = find_dossier_codes([(1, "Mã hồ sơ: 000.00.21.H61-250401-0001\nxem 000.00.21.H61-240101-0005", [])])
    assert decide_dossier(hits).code == "000.00.21.H61-250401-0001"


def test_a_separator_payload_starts_a_dossier_with_its_code() -> None:
    payload = separator_payload("000.00.21.H61-250401-0001")
    assert payload == f"{SEPARATOR_PREFIX}000.00.21.H61-250401-0001"
    assert dossier_start([payload]) == DossierStart("000.00.21.H61-250401-0001", "separator")
    assert dossier_start([f" {payload}\n"]) == DossierStart("000.00.21.H61-250401-0001", "separator")
    old_archive = separator_payload("HS_2009-0042")
    assert dossier_start([old_archive]) == DossierStart("HS_2009-0042", "separator"), "codes sohoa printed"


def test_a_receipt_payload_starts_a_dossier_and_the_separator_wins_on_one_page() -> None:
    receipt = "000.00.21.H61-250401-0002|1.001193|086190012345|GIẤY TIẾP NHẬN"
    assert dossier_start([receipt]) == DossierStart("000.00.21.H61-250401-0002", "receipt")
    both = [receipt, separator_payload("000.00.21.H61-250401-0003")]
    assert dossier_start(both) == DossierStart("000.00.21.H61-250401-0003", "separator")
    first = dossier_start(["https://example.vn/tra-cuu", receipt, "000.00.21.H61-250401-0009"])
    assert first == DossierStart("000.00.21.H61-250401-0002", "receipt")


def test_pages_without_a_usable_code_start_nothing() -> None:
    assert dossier_start([]) is None
    assert dossier_start(["8935001234567", "https://dichvucong.gov.vn"]) is None
    assert dossier_start(["000.00.21.H61-251301-0001|x"]) is None, "month 13 is no dossier code"
    assert dossier_start([SEPARATOR_PREFIX, f"{SEPARATOR_PREFIX}../../etc"]) is None
    damaged = f"{SEPARATOR_PREFIX}bad code 000.00.21.H61-250401-0001"
    assert dossier_start([damaged]) is None, "a damaged separator is not taken for a receipt"
