"""Getting documents in and through: sources, intake (store original first, dedup), the pipeline, queues.

Public pieces: `settings.load_settings`, `services.build_services`, `batch.import_paths` (what
`sohoa import` runs), `intake.intake`, `pipeline.process_document` (one document, called by both the
embedded `runner.LocalRunner` and the Celery task in `celery_app`), `records.document_record`.
"""
