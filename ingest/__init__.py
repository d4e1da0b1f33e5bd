"""Getting documents in and through: sources, intake (store original first, dedup), the pipeline, queues.

Public pieces: `settings.load_settings`, `services.build_services`; `submit.open_submitter` — the one way
in that every face uses (it alone picks the embedded pool or Celery); `batch.run_import` (what
`sohoa import` runs: resumable, manifests, progress); `hotfolder.HotFolder` (what `sohoa watch` runs) with
`watch_intake.SubmitterIntake`; `stacks` and `stack_intake` (scanned stacks split at receipts and
separator sheets; `separator.separator_sheet_pdf`); `manifest.read_manifest`/`validate_manifest`;
`filing` (which dossier a document goes under, and groups of files that came together);
`intake.intake_file`; `pipeline.process_document` (one document, called by both the embedded
`runner.LocalRunner` and the Celery task in `celery_app`); `records.document_record`; `messages` (words for
people, Vietnamese by default); `signing` (the one pyHanko wrapper), `signatures` (who signs and when, account
certificates), `verify.verify_pdf`; `archive.export_dossier` / `export_since` (the archive package).
"""
