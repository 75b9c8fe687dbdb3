"""Reading one environment variable, checked: the helpers config/settings.py reads every variable with.
A value that cannot be read stops start-up with one line naming the variable."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

N = TypeVar("N", int, float)


class SettingError(SystemExit):
    """A variable that cannot be read stops start-up with one line naming it (no traceback)."""

    def __init__(self, name: str, expected: str, got: str) -> None:
        super().__init__(f"media-sync: {name} must be {expected}; got {got!r}")


def env_str(name: str, default: str = "") -> str:
    """The variable, or the contents of the file `NAME_FILE` names (container secrets), or the default."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise SettingError(f"{name}_FILE", "a readable file", f"{path} ({error.strerror})") from None
    return os.environ.get(name, "") or default


TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name).strip().lower()
    if not value:
        return default
    if value not in TRUE | FALSE:
        raise SettingError(name, "a boolean (1/0, true/false, yes/no, on/off)", value)
    return value in TRUE


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in (env_str(name) or default).split(",") if part.strip()]


def _env_number(name: str, default: N, *, parse: Callable[[str], N], kind: str, minimum: N) -> N:
    value = env_str(name).strip()
    if not value:
        return default
    try:
        number = parse(value)
    except ValueError:
        raise SettingError(name, kind, value) from None
    if not minimum <= number < float("inf"):
        raise SettingError(name, f"{kind} of at least {minimum:g}", value)
    return number


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    return _env_number(name, default, parse=int, kind="a whole number", minimum=minimum)


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    return _env_number(name, default, parse=float, kind="a number", minimum=minimum)


def env_url(name: str, default: str = "", *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    value = env_str(name).strip() or default
    if value:
        parts = urlsplit(value)
        # A scheme alone (`console://`) is a whole URL for a scheme that names no place.
        if parts.scheme not in schemes or not (parts.netloc or parts.path or value == f"{parts.scheme}://"):
            shown = " or ".join(f"{scheme}://" for scheme in schemes[:3])
            # A URL may carry a password (mail, database): the message never shows it.
            raise SettingError(name, f"a URL ({shown}...)", re.sub(r"(//[^/:@]*):[^/@]*@", r"\1:***@", value))
    return value
