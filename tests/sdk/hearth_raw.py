"""Hand-signed HMAC-SHA1 requests, for the negative cases no SDK produces (a wrong secret, an
old timestamp, a reused nonce, a form body). Written from the signature rules in
shared/docs/wire-protocols.md, independently of the server's implementation."""

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timezone


def _enc(s):
    return urllib.parse.quote(str(s), safe="-_.~")


def sign(params, secret, method="POST"):
    canonical = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(params.items()))
    string_to_sign = f"{method}&%2F&{_enc(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class Response:
    def __init__(self, status, body, content_type):
        self.status, self.body, self.content_type = status, body, content_type

    def json(self):
        return json.loads(self.body)


class RawClient:
    def __init__(self, endpoint, key_id, secret):
        self.endpoint, self.key_id, self.secret = endpoint, key_id, secret

    def common(self, action, version="2014-05-26", **overrides):
        params = {
            "Action": action,
            "Version": version,
            "Format": "JSON",
            "AccessKeyId": self.key_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": uuid.uuid4().hex,
            "Timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def send(self, params, secret=None, sign_it=True, in_body=False, method="POST"):
        params = dict(params)
        if sign_it:
            params["Signature"] = sign(params, secret if secret is not None else self.secret, method)
        encoded = urllib.parse.urlencode(params)
        url = f"http://{self.endpoint}/"
        data = None
        headers = {}
        if in_body:
            data = encoded.encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            url += "?" + encoded
            if method == "POST":
                data = b""
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return Response(r.status, r.read().decode(), r.headers.get("Content-Type"))
        except urllib.error.HTTPError as e:
            return Response(e.code, e.read().decode(), e.headers.get("Content-Type"))

    def call(self, action, version="2014-05-26", **params):
        return self.send(self.common(action, version, **params))
