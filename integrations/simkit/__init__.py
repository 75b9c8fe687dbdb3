"""Shared kit for provider simulators: in-memory fakes of provider APIs served over real HTTP on loopback,
with a fake clock, injectable faults and a log of what the provider saw. No Django: they run anywhere."""

from integrations.simkit.app import SimulatorApp
from integrations.simkit.faults import Clock, Faults
from integrations.simkit.pictures import labelled_jpeg
from integrations.simkit.server import RunningServer, serve, serve_many
from integrations.simkit.wire import (
    DROP,
    BadRequestError,
    Outcome,
    SimRequest,
    SimResponse,
    gateway_error_page,
    json_response,
    text_response,
)

__all__ = [
    "DROP",
    "BadRequestError",
    "Clock",
    "Faults",
    "Outcome",
    "RunningServer",
    "SimRequest",
    "SimResponse",
    "SimulatorApp",
    "gateway_error_page",
    "json_response",
    "labelled_jpeg",
    "serve",
    "serve_many",
    "text_response",
]
