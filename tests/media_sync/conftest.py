"""Clients logged in to the admin in each role, CorrigoPro's work order 1001, and the world of one of
everything the admin shows."""

from __future__ import annotations

import pytest
from django.test import Client

from integrations.corrigopro.simulator import CorrigoProSimulator
from integrations.recoveryconnect.simulator import RecoveryConnectSimulator
from integrations.suapi.simulator import SuApiSimulator
from media_sync.models import CorrigoWorkOrder
from tests.media_sync.access import World, build_world
from tests.media_sync.factories import login


@pytest.fixture
def operator(client: Client) -> Client:
    login(client, "olga", "Operators")
    return client


@pytest.fixture
def lead(client: Client) -> Client:
    login(client, "leo", "Team leads")
    return client


@pytest.fixture
def work_order(cp_sim: CorrigoProSimulator) -> CorrigoWorkOrder:
    """Accepted, at CorrigoPro and in our mirror."""
    cp_sim.add_work_order(1001)
    return CorrigoWorkOrder.objects.create(work_order_id=1001, status="Accepted")


@pytest.fixture
def world(rc_sim: RecoveryConnectSimulator, cp_sim: CorrigoProSimulator, su_sim: SuApiSimulator) -> World:
    return build_world(rc_sim, cp_sim, su_sim)
