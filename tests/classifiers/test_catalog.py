from pathlib import Path

import pytest

from classifiers.catalog import CatalogError, load_catalog
from classifiers.text import fold


def test_shipped_catalog_loads_with_known_procedures() -> None:
    catalog = load_catalog()
    assert len(catalog.procedures) >= 20
    residence = catalog.get("thuong-tru")
    assert residence is not None and residence.code == "1.004222"
    assert catalog.by_code("2.000815.000.00.00.H38") == catalog.get("chung-thuc-ban-sao")


def test_a_province_catalog_replaces_the_shipped_one(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text("- id: rieng\n  name: Thủ tục riêng\n  form_titles: [ĐƠN RIÊNG]\n", encoding="utf-8")
    catalog = load_catalog(path)
    assert [p.id for p in catalog.procedures] == ["rieng"]


@pytest.mark.parametrize(
    "content", ["not: a list", "- name: no id\n", "- id: a\n  name: A\n- id: a\n  name: B\n", "[unclosed"]
)
def test_malformed_catalogs_are_reported(tmp_path: Path, content: str) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogError):
        load_catalog(path)


def test_fold_removes_tone_marks_and_punctuation() -> None:
    assert fold("TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ") == "to khai thay doi thong tin cu tru"
    assert fold("Đăng  ký:\tthường-trú") == "dang ky thuong tru"
