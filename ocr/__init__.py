"""Pure page work: decode files into page images, clean them up, read them with tesseract, render PDFs.

Public pieces: `decode.open_document` (bytes → pages), `page.process_page` (one page → `PageResult`),
`tesseract.TesseractEngine` (the only caller of tesseract), `barcodes.read_barcodes`,
`searchable_pdf.build_searchable_pdf`. Nothing here touches the DB, the queue or the object store.
"""
