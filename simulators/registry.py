"""The systems, in port order: base port + index."""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class System:
    key: str
    title: str
    module: str


SYSTEMS: tuple[System, ...] = (
    System("eservice", "E-tjänst ekonomiskt bistånd", "simulators.eservice.app"),
    System("fk", "Försäkringskassan", "simulators.fk.app"),
    System("af", "Arbetsförmedlingen", "simulators.af.app"),
    System("csn", "CSN", "simulators.csn.app"),
    System("skv", "Skatteverket", "simulators.skv.app"),
    System("pm", "Pensionsmyndigheten", "simulators.pm.app"),
    System("akassa", "A-kassan", "simulators.akassa.app"),
    System("casemgmt", "Verksamhetssystem (Procapita-liknande)", "simulators.casemgmt.app"),
)


def urls(host: str, base_port: int) -> dict[str, str]:
    return {s.key: f"http://{host}:{base_port + i}" for i, s in enumerate(SYSTEMS)}


def factory(system: System):
    """Each system module exposes `create_app(ctx: SystemContext) -> FastAPI`."""
    return importlib.import_module(system.module).create_app
