"""SSH backend: committed configuration reaches the nodes as files and service actions."""
