"""In-memory stand-in for the SU API channel manager's Booking.com photo endpoints, reached over real HTTP.

Photos are sent as public URLs; the simulator really downloads and decodes them (with `requests` and Pillow)
when simulated processing time has passed, so a client meets every final status for real reasons.

Wire formats follow docs/providers/suapi.md. Where the public pages are silent, these are our
choices (keep the client tolerant of them, not dependent on them):
- a missing or wrong app-id / key is HTTP 401, an unreadable body HTTP 400, both in the coded Fail envelope;
- create answers `{"Status": "Success", "Data": {"Photo_Batch_Id"}, "Message", "Ruid"}`; an image without a
  URL string is Fail Code "400";
- an `ok` photo has status_message ""; a failed one names the reason in status_message;
- retrieveAll's `url` and `sample_url` are both the source URL (the simulator keeps no copy), `tags` the ids;
- retrieveTags answers `Data: [{"tag_id", "tag_name"}]`;
- delete answers `{"Status": "Success", "Message": "Photo deleted successfully", "Ruid"}` and refuses the
  main photo of an open property with Fail Code "400"; once a main photo is gone the oldest remaining is main;
- a photo over Booking.com's 50 MB limit ends as `error`;
- the verbs update, imageOrder, associate, unassociate and the Bearer-token scheme are not simulated (404).
"""

from integrations.suapi.simulator.app import SuApiSimulator
from integrations.suapi.simulator.demo import DEMO_PHOTO_ID, DEMO_PROPERTIES, demo_picture
from integrations.suapi.simulator.pictures import MAX_PHOTO_BYTES, Fetched, picture_fingerprint
from integrations.suapi.simulator.state import PENDING_TTL_S, TAGS

__all__ = [
    "DEMO_PHOTO_ID",
    "DEMO_PROPERTIES",
    "MAX_PHOTO_BYTES",
    "PENDING_TTL_S",
    "TAGS",
    "Fetched",
    "SuApiSimulator",
    "demo_picture",
    "picture_fingerprint",
]
