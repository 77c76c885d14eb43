"""Fault injection: make the emulator fail like a real API sometimes does.

Off by default. :class:`FaultInjector` decides, for each request, whether it
gets a fault and which one; the HTTP layer (``server.py``) applies it. The
configuration comes from the ``--fault-*`` flags and can be replaced at run
time through the admin endpoint ``/_emulator/faults`` (see :func:`serve_admin`).
"""

import json
import random
import re
import threading
from dataclasses import dataclass, field

ADMIN_PATH = "/_emulator/faults"

# Answered instead of applying the request.
REFUSING_KINDS = ("429", "500", "502", "503", "reset")
# Applied first: "slow" answers late; the commit kinds lose the answer of a
# request that took effect (the ambiguous commit).
APPLYING_KINDS = ("slow", "commit-reset", "commit-502")
KINDS = REFUSING_KINDS + APPLYING_KINDS
# Kinds that send no answer at all: the connection is closed.
DROPPING_KINDS = ("reset", "commit-reset")
PLANES = ("control", "data")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "LIST")  # LIST: Vault KV2, data plane
RETRY_AFTER_SECONDS = 1

_MEMBERS = ("rate", "kinds", "seed", "methods", "paths", "planes", "slow_seconds")


class FaultConfigError(ValueError):
    """An invalid fault configuration; ``setting`` names the member at fault (None: the whole)."""

    def __init__(self, setting, problem):
        super().__init__(f"{setting} {problem}" if setting else problem)
        self.setting = setting
        self.problem = problem


def _names(value, allowed, setting, upper=False):
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise FaultConfigError(setting, "must be a list of names (or a comma-separated string)")
    names = []
    for name in value:
        name = name.strip().upper() if upper else name.strip()
        if name not in allowed:
            raise FaultConfigError(setting, f"has an unknown value {name!r}; allowed: {', '.join(allowed)}")
        if name not in names:
            names.append(name)
    return tuple(names)


@dataclass(frozen=True)
class FaultConfig:
    """What to inject. ``methods``/``paths`` empty or None mean "every request"."""

    rate: float = 0.0
    kinds: tuple = KINDS
    seed: int = None
    methods: tuple = ()
    paths: str = None
    planes: tuple = PLANES
    slow_seconds: float = 1.0
    _path_regex: re.Pattern = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        rate = self.rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise FaultConfigError("rate", f"must be a number from 0 to 1, not {rate!r}")
        object.__setattr__(self, "rate", float(rate))
        kinds = _names(self.kinds, KINDS, "kinds")
        if not kinds:
            raise FaultConfigError("kinds", f"must name at least one of: {', '.join(KINDS)}")
        object.__setattr__(self, "kinds", kinds)
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise FaultConfigError("seed", f"must be an integer or null, not {self.seed!r}")
        object.__setattr__(self, "methods", _names(self.methods or (), METHODS, "methods", upper=True))
        planes = _names(self.planes, PLANES, "planes")
        if not planes:
            raise FaultConfigError("planes", f"must name at least one of: {', '.join(PLANES)}")
        object.__setattr__(self, "planes", planes)
        paths = self.paths or None
        if paths is not None:
            if not isinstance(paths, str):
                raise FaultConfigError("paths", f"must be a regular expression (string) or null, not {paths!r}")
            try:
                object.__setattr__(self, "_path_regex", re.compile(paths))
            except re.error as exc:
                raise FaultConfigError("paths", f"is not a valid regular expression: {exc}") from None
        object.__setattr__(self, "paths", paths)
        slow = self.slow_seconds
        if isinstance(slow, bool) or not isinstance(slow, (int, float)) or not 0 <= slow <= 300:
            raise FaultConfigError("slow_seconds", f"must be a number from 0 to 300, not {slow!r}")
        object.__setattr__(self, "slow_seconds", float(slow))

    @classmethod
    def from_json(cls, data):
        """Build from the admin endpoint's JSON object; absent members take their defaults."""
        if not isinstance(data, dict):
            raise FaultConfigError(None, "the fault configuration must be a JSON object")
        unknown = sorted(set(data) - set(_MEMBERS))
        if unknown:
            raise FaultConfigError(None, f"unknown member(s) {', '.join(unknown)}; allowed: {', '.join(_MEMBERS)}")
        return cls(**{k: v for k, v in data.items() if v is not None or k in ("seed", "paths")})

    def to_json(self):
        return {"rate": self.rate, "kinds": list(self.kinds), "seed": self.seed,
                "methods": list(self.methods) or None, "paths": self.paths,
                "planes": list(self.planes), "slow_seconds": self.slow_seconds}

    def targets(self, plane, method, path):
        """Whether a request is eligible for a fault (the admin endpoint never is)."""
        if path == ADMIN_PATH or plane not in self.planes:
            return False
        if self.methods and method.upper() not in self.methods:
            return False
        return self._path_regex is None or self._path_regex.search(path) is not None


@dataclass(frozen=True)
class Fault:
    """One injected fault: its kind, and the delay of a "slow" answer when it was decided."""

    kind: str
    slow_seconds: float = 0.0

    @property
    def applies_request(self):
        return self.kind in APPLYING_KINDS

    @property
    def drops_connection(self):
        return self.kind in DROPPING_KINDS


class FaultInjector:
    """Decides which requests fail, repeatably for a given seed and request order."""

    def __init__(self, config=None):
        self._lock = threading.Lock()
        self.injected = {kind: 0 for kind in KINDS}
        self.eligible = 0
        self.configure(config or FaultConfig())

    def configure(self, config):
        """Replace the configuration; the random sequence restarts from the seed."""
        with self._lock:
            self.config = config
            self._random = random.Random(config.seed)

    def decide(self, plane, method, path):
        """The :class:`Fault` for this request, or None. Counts what it injects."""
        with self._lock:
            config = self.config
            if config.rate <= 0 or not config.targets(plane, method, path):
                return None
            self.eligible += 1
            # Two draws per eligible request, whatever the outcome, so that a
            # seed gives the same sequence of decisions for the same requests.
            hit, pick = self._random.random(), self._random.randrange(len(config.kinds))
            if hit >= config.rate:
                return None
            kind = config.kinds[pick]
            self.injected[kind] += 1
            return Fault(kind, config.slow_seconds)

    def snapshot(self):
        with self._lock:
            return {"config": self.config.to_json(), "eligible": self.eligible,
                    "injected": dict(self.injected), "injected_total": sum(self.injected.values())}


def serve_admin(injector, method, body):
    """``GET``/``PUT /_emulator/faults``: return (status, JSON-serialisable body)."""
    if method == "GET":
        return 200, injector.snapshot()
    if method != "PUT":
        return 405, {"class": "Client::MethodNotAllowed", "message": f"Use GET or PUT on {ADMIN_PATH}"}
    try:
        data = json.loads(body or b"null")
        injector.configure(FaultConfig.from_json(data))
    except ValueError as exc:  # FaultConfigError and JSON errors
        return 400, {"class": "Client::BadRequest", "message": f"Invalid fault configuration: {exc}"}
    return 200, injector.snapshot()
