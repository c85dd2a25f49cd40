"""Commands: a registry of definitions (name, help, where valid) and one module per family."""
