"""Words of the dashboard pages (merged into `api.web.words.WORDS`): key → (Vietnamese, English)."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {}
