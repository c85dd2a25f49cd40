"""Commands: one module per family; registry.py loads them all (what a command is: shell/dispatch.py)."""
