"""In-memory stand-in for the SU API channel manager's Booking.com photo endpoints, reached over real HTTP.

Photos are sent as public URLs; the simulator really downloads and decodes them (with `requests` and Pillow)
when simulated processing time has passed, so a client meets every final status for real reasons.

Wire formats follow docs/providers/suapi.md. Where the public pages are silent, these are our
choices (keep the client tolerant of them, not dependent on them):
- a missing or wrong app-id / key is HTTP 401, an unreadable body HTTP 400, both in the coded Fail envelope;
- create answers `{"Status": "Success", "Data": {"Photo_Batch_Id"}, "Message", "Ruid"}`; an image without a
  URL string is Fail Code "400";
- an `ok` photo has status_message ""; a failed one names the reason in status_message;
- retrieveAll's `url` is the source URL; `sample_url` is a public watermarked JPEG (320x240, drawn from the
  photo's fingerprint: the simulator keeps no copy) served at /SUAPI/samples/<photo_id>.jpg, no credentials;
- retrieveTags answers `Data: [{"tag_id", "tag_name"}]`;
- delete answers `{"Status": "Success", "Message": "Photo deleted successfully", "Ruid"}` and refuses the
  main photo of an open property with Fail Code "400"; once a main photo is gone the oldest remaining is main;
- a photo over Booking.com's 50 MB limit ends as `error`;
- show answers one photo as an object in `Data`; update, imageOrder, associate and unassociate answer
  `Data: []` and a Message; update refuses an unknown, non-integer or repeated tag with "574" and an unknown
  photo with "578"; imageOrder names photos of the gallery (or of the room) or answers "578", puts them first
  in the order given and keeps the others after them; an unknown `channel_room_id` is "400";
- retrieveAssociateImages answers `main_photo: {}` and no other photos for an empty gallery; a room's main
  photo is its first;
- control routes add a photo "added outside the app", remove one "at Booking.com" (the main photo too), and
  add a room (`/_sim/suapi/properties/<hotel_id>/photos`, `.../photos/<photo_id>/remove`, `.../rooms`);
- the Bearer-token scheme is not simulated (404).
"""

from integrations.suapi.simulator.app import SuApiSimulator
from integrations.suapi.simulator.demo import DEMO_PHOTO_ID, DEMO_PROPERTIES, DEMO_ROOM_ID, demo_picture
from integrations.suapi.simulator.pictures import MAX_PHOTO_BYTES, Fetched, picture_fingerprint
from integrations.suapi.simulator.state import PENDING_TTL_S, TAGS

__all__ = [
    "DEMO_PHOTO_ID",
    "DEMO_PROPERTIES",
    "DEMO_ROOM_ID",
    "MAX_PHOTO_BYTES",
    "PENDING_TTL_S",
    "TAGS",
    "Fetched",
    "SuApiSimulator",
    "demo_picture",
    "picture_fingerprint",
]
