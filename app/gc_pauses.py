"""Times this process's garbage-collector runs. A collection stops every thread that runs Python:
the event loop, and the writers between their Neo4j round trips, so a long one stalls every
request in flight at once. Each run is observed in `cdp_python_gc_pause_seconds` by generation,
and a run over `SLOW_SECONDS` is logged with what it collected."""
from __future__ import annotations

import gc
import logging
import time

from app import metrics

log = logging.getLogger("cdp.gc")

SLOW_SECONDS = 0.1


class GcPauses:
    def __init__(self) -> None:
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        paused = time.perf_counter() - self._started
        metrics.GC_PAUSE_SECONDS.labels(str(info["generation"])).observe(paused)
        if paused >= SLOW_SECONDS:
            log.warning("slow garbage collection", extra={"fields": {
                "generation": info["generation"], "ms": round(paused * 1000, 1),
                "collected": info["collected"], "uncollectable": info["uncollectable"],
                "objects_in_generation": len(gc.get_objects(info["generation"]))}})

    def install(self) -> None:
        if self not in gc.callbacks:
            gc.callbacks.append(self)

    def uninstall(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)
