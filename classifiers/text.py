"""Text normalisation that survives Vietnamese OCR damage (lost or wrong tone marks)."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w\s]")


def nfc(text: str) -> str:
    """Unicode NFC: the form Vietnamese text is compared and stored in."""
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lower-case, strip tone marks and diacritics (đ → d), drop punctuation, collapse spaces.

    "TỜ KHAI THAY ĐỔI" and an OCR'd "TO KHAI THAY DÔI" both fold to "to khai thay doi".
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", _NON_WORD.sub(" ", stripped.lower())).strip()
