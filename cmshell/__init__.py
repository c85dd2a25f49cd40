"""cmshell: a cluster management shell in the style of BCM's cmsh."""

__version__ = "0.1.0"
