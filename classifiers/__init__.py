"""Pure text work: the procedure catalog, procedure classification, key-field extraction.

Public pieces: `catalog.load_catalog`, `procedure.ProcedureClassifier`, `fields.find_dossier_codes`,
`text.fold`. Nothing here touches the DB, the queue or the object store.
"""
