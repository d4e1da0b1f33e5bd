"""Derive sohoa's shipped national catalog from the National Public Service Portal crawl.

    .venv/bin/python scripts/build_catalog.py [../shared/domain/national-procedures.jsonl]

Keeps the procedures handled at province or commune level (Cấp tỉnh / Cấp xã), with what classification and
completeness need (code, name, levels, field, agency, the dossier's components with copies, original or copy
and form files, the results), sorted by code, and writes `classifiers/data/national.jsonl.gz`. Run by a
developer when the source changes; sohoa never reads `../shared` at run time.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "domain" / "national-procedures.jsonl"
TARGET = ROOT / "classifiers" / "data" / "national.jsonl.gz"
LOCAL_LEVELS = {"Cấp tỉnh", "Cấp xã"}
KEPT = ("code", "name", "levels", "field", "agency", "components", "results")


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    kept = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        if not LOCAL_LEVELS & set(entry.get("levels") or ()):
            continue
        record = {key: entry.get(key) for key in KEPT}
        fields = ("name", "copies", "kind", "form_files")
        record["components"] = [{k: c.get(k) for k in fields} for c in entry.get("components") or ()]
        kept.append(record)
    kept.sort(key=lambda r: r["code"])
    body = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in kept)
    with gzip.GzipFile(TARGET, "wb", mtime=0) as out:  # mtime 0: the same input gives the same bytes
        out.write(body.encode("utf-8"))
    print(f"{len(kept)} procedures → {TARGET.relative_to(ROOT)} ({TARGET.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
