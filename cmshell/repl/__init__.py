"""The interactive shell (prompt_toolkit). Imported only when stdin is a terminal; modules that
batch runs may load (history.py) import nothing heavy at module level."""
