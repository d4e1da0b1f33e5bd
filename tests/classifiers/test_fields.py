from classifiers.fields import decide_dossier, find_dossier_codes, is_dossier_code


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
