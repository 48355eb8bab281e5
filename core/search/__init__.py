"""Pure text processing for search: normalisation, tokens, metadata markers, query parsing.

No I/O here: the same functions run when a file is indexed and when a query is typed.
"""
