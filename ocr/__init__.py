"""Pure page work: decode files into page images, clean them up, read them with tesseract, render PDFs.

Public pieces: `decode.open_document` (a file's path, or its bytes → pages, in order or by number),
`page.process_page` (one page → `PageResult`), `tesseract.TesseractEngine` (the only caller of tesseract),
`barcodes.read_barcodes`, `searchable_pdf.build_searchable_pdf` and `image_source_pdf` (file to file for long
documents; the output keeps nothing active, see `searchable_pdf.strip_active_content`), `archival` (PDF/A-2b),
`stamp.stamp_spot` (where a signature stamp covers nothing). Nothing here touches
the DB, the queue or the object store.
"""
