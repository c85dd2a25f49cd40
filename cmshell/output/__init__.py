"""Rendering: cmsh's fixed-width tables, `show` pairs, delimiters and JSON."""
