"""PostgreSQL store URLs: telling them from file paths, and showing them without the password."""
from __future__ import annotations

import os
import re
from urllib.parse import urlsplit, urlunsplit

SCHEMES = ("postgresql://", "postgres://")


def is_url(path: str | os.PathLike) -> bool:
    return isinstance(path, str) and path.lower().startswith(SCHEMES)


def redact(url: str) -> str:
    """The URL as it may be shown: the password (in the authority or as a `password=` query
    parameter) replaced by ****. Every other part, sslmode included, is kept."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            cred, host = netloc.rsplit("@", 1)
            if ":" in cred:
                cred = cred.split(":", 1)[0] + ":****"
            netloc = f"{cred}@{host}"
        query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2****", parts.query)
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:          # not parseable: show nothing of it that could be secret
        return url.split("://", 1)[0] + "://****"


def scrub(text: str, url: str) -> str:
    """`text` (say, a driver's error message) with the URL and its password taken out."""
    text = text.replace(url, redact(url))
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        text = text.replace(password, "****")
    return text
