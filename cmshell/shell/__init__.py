"""The shell: session state, command dispatch, prompts. Knows no backend internals."""
