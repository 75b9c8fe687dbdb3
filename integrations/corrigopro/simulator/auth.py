"""The CorrigoPro simulator's OAuth: client-credentials tokens, the bearer check, and the signed tokens its
webhooks carry (every token it signs is signed here)."""

from __future__ import annotations

import hmac
import uuid
from urllib.parse import parse_qsl

from integrations.corrigopro.simulator.state import WEBHOOK_TOKEN_TTL_S, _Store
from integrations.corrigopro.webhook_auth import AUDIENCE, sign_token
from integrations.simkit import SimRequest, SimResponse, json_response

_DENIED = {"Message": "Authorization has been denied for this request."}


class _Auth(_Store):
    """Access tokens for the API, signed tokens for the webhooks."""

    def _token(self, request: SimRequest) -> SimResponse:
        try:
            form = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            form = {}
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        # Compared as bytes: compare_digest refuses non-ASCII str, and a login must never answer 500.
        id_ok = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        if not (id_ok and hmac.compare_digest(client_secret.encode(), self.client_secret.encode())):
            return json_response(401, {"error": "invalid_client"})
        if not form.get("grant_type"):
            return json_response(400, {"error": "invalid_request"})
        if form["grant_type"] != "client_credentials":
            return json_response(400, {"error": "unsupported_grant_type"})
        now = self.clock.now()
        # Shaped like the documented "<payload><---->signature"; only the lookup in self.tokens counts.
        claims = {"aud": AUDIENCE, "client_id": self.client_id, "iat": int(now), "jti": str(uuid.uuid4())}
        access_token = sign_token(
            {**claims, "exp": int(now) + self.token_ttl_s}, private_key=self.private_key
        )
        self.tokens[access_token] = now + self.token_ttl_s
        self.token_count += 1
        body = {"access_token": access_token, "token_type": "bearer", "expires_in": self.token_ttl_s}
        return json_response(200, body, {"Cache-Control": "no-store"})

    def _denied(self, request: SimRequest) -> SimResponse | None:
        scheme, _, token = (request.header("Authorization") or "").strip().partition(" ")
        expires_at = self.tokens.get(token.strip())
        if scheme.lower() == "bearer" and expires_at is not None and self.clock.now() < expires_at:
            return None
        return json_response(401, _DENIED)

    def _webhook_token(self, now: float) -> str:
        # Times from the simulator clock, so a test that advances it also ages the webhook tokens.
        claims = {"aud": AUDIENCE, "iat": int(now), "exp": int(now) + WEBHOOK_TOKEN_TTL_S}
        return sign_token({**claims, "iss": "corrigopro-simulator"}, private_key=self.private_key)
