"""The options every SU API (Booking.com) gallery command shares: the property, by its two ids."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from media_sync.models import SuProperty
from media_sync.services.refusals import InputRefused
from media_sync.services.suapi import su_property_get_or_create


def add_property_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--hotel", required=True, metavar="H", help="SU hotel_id")
    parser.add_argument("--channel-hotel", required=True, metavar="C", help="Booking.com channel_hotel_id")


def property_of(options: dict[str, Any]) -> SuProperty:
    """The property the options name, recorded on first use (as su_create_batch does)."""
    hotel, channel = options["hotel"].strip(), options["channel_hotel"].strip()
    if not hotel or not channel:
        raise InputRefused("--hotel and --channel-hotel must not be empty")
    return su_property_get_or_create(hotel_id=hotel, channel_hotel_id=channel)
