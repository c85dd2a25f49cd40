"""The configuration file: `--config FILE`, else $CMSHELL_CONFIG, else
$XDG_CONFIG_HOME/cmshell/config.yaml (docs/backends.md). Applying is off unless it says so."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping

APPLY_MODES = ("auto", "manual", "off")


class ConfigError(Exception):
    """The configuration file is unreadable or wrong; the message is one line."""


@dataclass
class Config:
    path: str | None = None
    apply: str = "off"
    backends: dict[str, dict] = field(default_factory=dict)   # section per backend (ssh, kubernetes)

    def section(self, name: str) -> dict:
        return self.backends.get(name) or {}


def locate(explicit: str | None, environ: Mapping[str, str], config_dir: str) -> str | None:
    """The configuration file to read, or None when there is none (then nothing is applied)."""
    if explicit:
        return explicit
    if environ.get("CMSHELL_CONFIG"):
        return environ["CMSHELL_CONFIG"]
    default = os.path.join(config_dir, "config.yaml")
    return default if os.path.isfile(default) else None


def load(path: str | None) -> Config:
    if path is None:
        return Config()
    import yaml
    try:
        with open(path, encoding="utf-8") as fh:
            data: Any = yaml.safe_load(fh)
    except OSError as e:
        raise ConfigError(f"Cannot read configuration {path}: {e.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"Configuration {path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"Configuration {path}: expected a mapping of settings")
    apply = str(data.pop("apply", "off")).lower()
    if apply not in APPLY_MODES:
        raise ConfigError(f"Configuration {path}: apply must be one of {', '.join(APPLY_MODES)}, not {apply}")
    for name, section in data.items():
        if section is None:           # `kubernetes:` alone turns the backend on with defaults
            data[name] = section = {}
        if not isinstance(section, dict):
            raise ConfigError(f"Configuration {path}: {name} must be a mapping of settings")
    return Config(path, apply, data)
