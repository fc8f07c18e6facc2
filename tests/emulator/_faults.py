"""Faults on demand: throttling, server errors, dropped connections, slow answers."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field


@dataclass
class Fault:
    """One injected fault: `kind` is 429, 500, drop or slow."""

    kind: str
    retry_after: int = 1
    """Seconds a 429 asks the client to wait."""
    delay: float = 0.5
    """Seconds a slow answer waits."""


@dataclass
class FaultPlan:
    """Which requests fail: queued faults first, then a random share of writes (or all)."""

    queued: list[Fault] = field(default_factory=list)
    rate: float = 0.0
    kinds: tuple[str, ...] = ("429", "500", "drop")
    writes_only: bool = True
    methods: tuple[str, ...] = ()
    """Only these methods (e.g. DELETE) get faults; empty: every method."""
    skip: int = 0
    """Requests (of those methods) let through before faults start."""
    seed: int = 1
    injected: list[Fault] = field(default_factory=list)
    _random: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def next_fault(self, method: str) -> Fault | None:
        """The fault for this request, if any."""
        with self._lock:
            if self.writes_only and method in ("GET", "HEAD"):
                return None
            if self.methods and method not in self.methods:
                return None
            if self.skip:
                self.skip -= 1
                return None
            fault = self.queued.pop(0) if self.queued else None
            if fault is None and self.rate and self._random.random() < self.rate:
                fault = Fault(self._random.choice(self.kinds), retry_after=0)
            if fault is not None:
                self.injected.append(fault)
            return fault
