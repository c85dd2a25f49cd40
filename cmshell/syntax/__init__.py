"""Pure parsing of command lines: no I/O, no knowledge of modes."""
