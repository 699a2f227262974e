"""Settings as one typed object: defaults < config file < environment.

Where files live: with ``TUCKAWAY_HOME`` set, everything the host writes is
under it (``config/``, ``data/``, ``state/``); otherwise platformdirs picks the
platform's usual directories. The config file is ``config.toml`` in the config
directory; every key below may be set there, and the environment variable of
the same name in upper case with a ``TUCKAWAY_`` prefix wins over it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuckaway.errors import ConfigError

APP_NAME = "tuckaway"
DEFAULT_POCKET_URL = "https://getpocket.com"


@dataclass(frozen=True)
class Paths:
    """The directories the host writes to."""

    config_dir: Path
    data_dir: Path
    state_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "tuckaway.db"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "log"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "tuckaway.log"

    @classmethod
    def resolve(cls, env: Mapping[str, str]) -> Paths:
        home = env.get("TUCKAWAY_HOME")
        if home:
            root = Path(home).expanduser().absolute()
            return cls(root / "config", root / "data", root / "state")
        import platformdirs

        dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
        return cls(Path(dirs.user_config_dir), Path(dirs.user_data_dir), Path(dirs.user_state_dir))


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a URL's hostname) names this machine: ``localhost`` itself, or
    an IP literal in 127.0.0.0/8 or ``::1`` (brackets allowed).

    Only names that never reach a DNS server count: ``127.0.0.1.nip.io`` or
    ``127.evil.example`` look local and are not, and ``*.localhost`` (RFC 6761)
    is refused too, since not every resolver keeps those on the machine.
    """
    import ipaddress  # here, not at the top: settings load on the host's cold start

    host = host.lower()
    if host == "localhost":
        return True
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_service_url(url: str, what: str) -> str:
    """A service base URL must be https, or http on loopback only (tokens travel there)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host:
        return url.rstrip("/")
    if parts.scheme == "http" and is_loopback_host(host):
        return url.rstrip("/")
    raise ConfigError(
        f"{what} must be an https:// URL (plain http is allowed only for loopback: "
        f"127.0.0.1 or another 127.x.y.z, [::1] or localhost), got {url!r}"
    )


#: what ``log_level`` may be (logging's names; anything else made setting up the log fail)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class Settings:
    """Every tunable of the host, documented in README.md ("Settings")."""

    paths: Paths
    pocket_url: str = DEFAULT_POCKET_URL
    pocket_consumer_key: str | None = None
    batch_quiet_ms: int = 300
    batch_max_delay_ms: int = 1500
    batch_max_actions: int = 100
    request_timeout_s: float = 30.0
    retry_max_s: float = 600.0
    lease_s: float = 60.0
    default_tags: tuple[str, ...] = ()
    log_level: str = "INFO"
    allowed_extensions: tuple[str, ...] = field(default=())
    sync_on_start: bool = True

    #: what was wrong in config.toml or the environment when loaded leniently (the
    #: host's way: a typo must not stop the extension); each bad key took its default
    problems: tuple[ConfigProblem, ...] = field(default=(), compare=False)

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, *, lenient: bool = False) -> Settings:
        """Load settings; a bad key raises :class:`ConfigError`, or with ``lenient`` keeps
        its default and is listed in :attr:`problems`."""
        env = os.environ if env is None else env
        paths = Paths.resolve(env)
        problems: list[ConfigProblem] = []
        values: dict[str, Any] = {}
        origin: dict[str, ConfigProblem] = {}  # where each value came from, for its message
        text = ""
        if paths.config_file.is_file():
            import tomllib  # only when there is a config file: the cold start matters

            try:
                text = paths.config_file.read_text("utf-8")
                values.update(tomllib.loads(text))
            except (OSError, ValueError) as exc:  # TOMLDecodeError is a ValueError
                line = _error_line(str(exc))
                problems.append(
                    ConfigProblem(str(paths.config_file), line, "", f"cannot read it: {exc}")
                )
                values = {}
        known = {f.name: f for f in dataclasses.fields(cls) if f.name not in _NOT_KEYS}
        for name in sorted(set(values) - set(known)):
            del values[name]
            problems.append(
                ConfigProblem(
                    str(paths.config_file),
                    _key_line_no(text, name),
                    name,
                    f"unknown setting {name!r}",
                    ", ".join(known),
                )
            )
        for name in values:
            origin[name] = ConfigProblem(str(paths.config_file), _key_line_no(text, name), name, "")
        for name in known:
            raw = env.get(f"TUCKAWAY_{name.upper()}")
            if raw is not None and raw != "":
                values[name] = raw
                origin[name] = ConfigProblem(f"TUCKAWAY_{name.upper()}", None, name, "")
        kwargs: dict[str, Any] = {}
        for name, value in values.items():
            try:
                kwargs[name] = _check_value(name, _coerce(name, known[name].type, value))
            except ConfigError as exc:
                where = origin[name]
                problems.append(
                    dataclasses.replace(
                        where, message=exc.message, allowed=_allowed(name, known[name].type)
                    )
                )
        if problems and not lenient:
            raise ConfigError("; ".join(p.describe() for p in problems))
        return cls(paths=paths, problems=tuple(problems), **kwargs)

    def ensure_dirs(self) -> None:
        for d in (self.paths.config_dir, self.paths.data_dir, self.paths.state_dir):
            private_dir(d)


def private_dir(path: Path) -> None:
    """Make ``path`` (and missing parents); on POSIX it is 0700 even if it existed.

    Saved pages, tokens' metadata and the log say what the user reads: only they
    may list or open them. Parents that existed (``~/.config``) are left alone.
    """
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name == "posix" and path.stat().st_mode & 0o777 != 0o700:
        os.chmod(path, 0o700)


def private_file(path: Path) -> None:
    """Create ``path`` if missing, and make it 0600 on POSIX (the umask may say 0644)."""
    if os.name != "posix":
        return
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600))
    if path.stat().st_mode & 0o777 != 0o600:
        os.chmod(path, 0o600)


@dataclass(frozen=True)
class ConfigProblem:
    """One bad key: where it is (file and line, or the environment variable), what is wrong."""

    source: str  #: the config file's path, or the environment variable's name
    line: int | None
    key: str  #: empty when the whole file could not be read
    message: str
    allowed: str = ""

    def describe(self) -> str:
        where = self.source if self.line is None else f"{self.source}, line {self.line}"
        shown = self.allowed and self.allowed not in self.message
        allowed = f" (allowed: {self.allowed})" if shown else ""
        return f"{self.message}{allowed} (in {where})"

    def to_wire(self) -> dict[str, Any]:
        return {
            "file": self.source,
            "line": self.line,
            "key": self.key,
            "message": self.message,
            "allowed": self.allowed,
            "text": self.describe(),
        }


_NOT_KEYS = frozenset({"paths", "problems"})
_ALLOWED = {
    "log_level": ", ".join(LOG_LEVELS),
    "pocket_url": "an https:// URL, or http:// on loopback",
    "sync_on_start": "true or false",
}


def _allowed(name: str, annotation: Any) -> str:
    kind = str(annotation)
    return _ALLOWED.get(name) or {"int": "a whole number, 0 or more", "float": "a number"}.get(
        kind, ""
    )


def _check_value(name: str, value: Any) -> Any:
    if name == "pocket_url":
        check_service_url(value, "pocket_url")
    if name == "log_level" and str(value).upper() not in LOG_LEVELS:
        raise ConfigError(f"setting log_level: {value!r} is not one of {', '.join(LOG_LEVELS)}")
    return value


def _key_line_no(text: str, key: str) -> int | None:
    import re  # here: only when config.toml has a key to place

    match = re.search(rf"^[ \t]*{re.escape(key)}[ \t]*=", text, re.MULTILINE)
    return None if match is None else text.count("\n", 0, match.start()) + 1


def _error_line(message: str) -> int | None:
    import re

    match = re.search(r"at line (\d+)", message)
    return int(match.group(1)) if match else None


def _coerce(name: str, annotation: Any, value: Any) -> Any:
    kind = str(annotation)
    try:
        if kind == "int":
            number = int(value)
            if number < 0:
                raise ValueError("must not be negative")
            return number
        if kind == "float":
            return float(value)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            return str(value).strip().lower() in {"1", "true", "yes", "on"}
        if kind.startswith("tuple"):
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(i).strip() for i in items if str(i).strip())
        if kind.startswith("str"):
            return str(value)
    except ValueError as exc:
        raise ConfigError(f"setting {name}: {value!r} is not a valid {kind} ({exc})") from exc
    return value
