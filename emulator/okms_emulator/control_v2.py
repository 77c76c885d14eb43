"""``/v2/okms`` control-plane operations (all but secrets and secretConfig,
which are ``control_secrets.py``'s, and logs, not served).

Responses follow the models of ``specs/ovh-api-v2-okms.json`` exactly;
credential bodies are validated here with the spec's error classes,
service-key bodies by ``keys.py`` (the other half of the emulator).
"""

import json
import re
import time
import uuid

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from . import kmip_objects
from . import kms as kmsmod
from . import pki
from .errors import ApiError
from .routing import Response
from .secret_manager import SecretManager

CRED = "Client::BadRequest::Credential"
IDENTITY_URN = re.compile(
    r"^urn:v1:(eu|ca|us):identity:(account|user|group|credential):[A-Za-z0-9._-]+(/[A-Za-z0-9._@+-]+)?$")
CSR_MAX_CHARS = 8192
URN_MAX_CHARS = 255

CREDENTIAL_FIELDS = {"name", "description", "identityURNs", "validity", "certificateType", "csr"}

SERVICE_KEY_REFERENCE = [
    {"type": "oct", "default": True,
     "sizes": [{"value": 256, "default": True}, {"value": 128, "default": False},
               {"value": 192, "default": False}],
     "curves": [],
     "operations": [{"value": ["encrypt", "decrypt"], "default": True},
                    {"value": ["wrapKey", "unwrapKey"], "default": False}]},
    {"type": "RSA", "default": False,
     "sizes": [{"value": 2048, "default": True}, {"value": 3072, "default": False},
               {"value": 4096, "default": False}],
     "curves": [],
     "operations": [{"value": ["sign", "verify"], "default": True}]},
    {"type": "EC", "default": False,
     "sizes": [],
     "curves": [{"value": "P-256", "default": True}, {"value": "P-384", "default": False},
                {"value": "P-521", "default": False}],
     "operations": [{"value": ["sign", "verify"], "default": True}]},
]

TAG_OPERATORS = {"EQ", "NEQ", "EXISTS", "NEXISTS", "LIKE", "ILIKE"}


def _keys_module():
    # Written in parallel by another helper: import lazily so the control
    # plane works (and reports clearly) even before it exists.
    try:
        from . import keys
    except ImportError as exc:  # pragma: no cover - only while the module is missing
        raise ApiError(501, "Server::NotImplemented", f"service keys unavailable: {exc}") from None
    return keys


class ControlV2:
    def __init__(self, emu):
        self.emu = emu
        self.store = emu.store

    def register(self, router):
        p = "/v2/okms"
        router.add("GET", p + "/reference/regions", self.regions)
        router.add("GET", p + "/reference/serviceKey", self.service_key_reference)
        router.add("GET", p + "/resource", self.list_kms)
        router.add("GET", p + "/resource/{okmsId}", self.get_kms)
        router.add("GET", p + "/resource/{okmsId}/credential", self.list_credentials)
        router.add("POST", p + "/resource/{okmsId}/credential", self.create_credential)
        router.add("GET", p + "/resource/{okmsId}/credential/{credentialId}", self.get_credential)
        router.add("DELETE", p + "/resource/{okmsId}/credential/{credentialId}", self.delete_credential)
        router.add("GET", p + "/resource/{okmsId}/serviceKey", self.list_keys)
        router.add("POST", p + "/resource/{okmsId}/serviceKey", self.create_key)
        router.add("GET", p + "/resource/{okmsId}/serviceKey/{keyId}", self.get_key)
        router.add("PUT", p + "/resource/{okmsId}/serviceKey/{keyId}", self.update_key)
        router.add("DELETE", p + "/resource/{okmsId}/serviceKey/{keyId}", self.delete_key)

    # -- helpers ------------------------------------------------------------------

    def _page(self, req, entries, scope, error_class):
        """``entries``: (sort key, item) pairs in the list's order; the cursor holds a sort key."""
        chunk, headers = self.emu.paginator.page(entries, req.headers, scope, error_class)
        return Response(200, chunk, headers)

    @staticmethod
    def _bool_arg(req, name):
        value = req.arg(name)
        if value is None:
            return False
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0"):
            return False
        raise ApiError(400, "Client::BadRequest", f"Invalid value for parameter {name}: {value!r} (boolean)")

    def _region_arg(self, req):
        region = req.arg("region")
        if region is None:
            raise ApiError(400, "Client::BadRequest", "Missing parameter region")
        if region not in kmsmod.REGIONS:
            raise ApiError(400, "Client::BadRequest",
                           f"Invalid value for parameter region: {region!r} is not a valid okms.RegionEnum")
        return region

    def _tag_filter(self, req):
        raw = req.arg("iamTags")
        if raw is None:
            return None
        try:
            filters = json.loads(raw)
            assert isinstance(filters, dict)
            for conds in filters.values():
                assert isinstance(conds, list)
                for cond in conds:
                    assert isinstance(cond, dict)
                    assert cond.get("operator", "EQ") in TAG_OPERATORS
                    assert isinstance(cond.get("value", ""), str)
        except (ValueError, AssertionError):
            raise ApiError(400, "Client::BadRequest",
                           "Invalid iamTags: expected JSON map[string][]{operator, value}") from None
        return filters

    @staticmethod
    def _tags_match(tags, filters):
        if not filters:
            return True

        def like(pattern, value, flags=0):
            regex = "^" + re.escape(pattern).replace("%", ".*").replace(r"\%", ".*") + "$"
            return re.match(regex, value, flags) is not None

        for key, conds in filters.items():
            for cond in conds:
                op, val = cond.get("operator", "EQ"), cond.get("value", "")
                present = key in tags
                ok = {
                    "EQ": present and tags[key] == val,
                    "NEQ": not present or tags[key] != val,
                    "EXISTS": present,
                    "NEXISTS": not present,
                    "LIKE": present and like(val, tags[key]),
                    "ILIKE": present and like(val, tags[key], re.IGNORECASE),
                }[op]
                if not ok:
                    return False
        return True

    # -- reference ----------------------------------------------------------------

    def regions(self, req):
        entries = [((rid,), {"id": rid, "type": typ, "certifications": certs,
                             "restEndpoint": self.emu.data_endpoint,
                             "kmipEndpoint": self._kmip_endpoint(rid)})
                   for rid, (typ, certs) in sorted(kmsmod.REGIONS.items())]
        return self._page(req, entries, "regions", "RegionPaginationCursorInvalidValue")

    def service_key_reference(self, req):
        region = self._region_arg(req)
        # A fixed list: its position is a stable key.
        return self._page(req, [((i,), item) for i, item in enumerate(SERVICE_KEY_REFERENCE)],
                          "reference/serviceKey/" + region,
                          "ServiceKeyReferencePaginationCursorInvalidValue")

    # -- KMS ----------------------------------------------------------------------

    def _kmip_endpoint(self, region):
        # The listener's host:port; without one, OVHcloud's name (the API never leaves it empty).
        return self.emu.kmip_endpoint or f"{region}.okms.ovh.net:5696"

    def kms_iam(self, record):
        return {"id": record["id"], "urn": kmsmod.kms_urn(record),
                "displayName": record["displayName"],
                "tags": {"ovh:region": record["region"]}, "state": "OK"}

    def kms_body(self, record, public_ca=False):
        region = record["region"]
        secret_count, version_count = SecretManager(self.store, record).counts()
        body = {
            "id": record["id"], "region": region,
            "restEndpoint": self.emu.data_endpoint,
            "kmipEndpoint": self._kmip_endpoint(region),
            "kmipRsaEndpoint": self.emu.kmip_rsa_endpoint,
            "swaggerEndpoint": f"{self.emu.data_endpoint}/api/{record['id']}/openapi.yaml",
            "serviceKeyCount": len(record["serviceKeys"]),
            "kmipObjectCount": kmip_objects.count(record),
            "secretCount": secret_count, "secretVersionCount": version_count,
            "iam": self.kms_iam(record),
        }
        if public_ca:
            body["publicCA"] = record["ca"]["certificatePEM"]
            body["publicRsaCA"] = record["rsaCa"]["certificatePEM"]
        return body

    def list_kms(self, req):
        filters = self._tag_filter(req)
        with self.store.lock:
            records = sorted(self.store.data["okms"].values(), key=lambda r: (r["createdAt"], r["id"]))
            entries = [((r["createdAt"], r["id"]), self.kms_body(r)) for r in records]
        entries = [(key, i) for key, i in entries if self._tags_match(i["iam"]["tags"], filters)]
        return self._page(req, entries, "resource", "OKMSPaginationCursorInvalidValue")

    def get_kms(self, req, okmsId):
        public_ca = self._bool_arg(req, "publicCA")
        with self.store.lock:
            return Response(200, self.kms_body(kmsmod.get_kms(self.store, okmsId), public_ca))

    # -- credentials ----------------------------------------------------------------

    def _cred_status(self, cred):
        return kmsmod.credential_status(cred, time.time(), self.emu.credential_ready_delay,
                                        self.emu.credential_delete_delay)

    def _cred_body(self, cred, status):
        return {
            "id": cred["id"], "name": cred["name"], "description": cred["description"],
            "identityURNs": list(cred["identityURNs"]), "status": status,
            "fromCSR": cred["fromCSR"], "certificateType": cred["certificateType"],
            "createdAt": cred["createdAt"], "expiredAt": cred["expiredAt"],
            # The certificate is "issued" once the asynchronous creation is over.
            "certificatePEM": None if status == "CREATING" else cred["certificatePEM"],
        }

    def _get_cred(self, record, credential_id):
        cid = kmsmod.parse_uuid(credential_id, "credentialId")
        cred = record["credentials"].get(cid)
        status = self._cred_status(cred) if cred else None
        if status is None:
            raise ApiError(404, "Client::NotFound", f"Credential {cid} not found")
        return cred, status

    def list_credentials(self, req, okmsId):
        with self.store.lock:
            record = kmsmod.get_kms(self.store, okmsId)
            creds = sorted(record["credentials"].values(), key=lambda c: (c["createdAtTs"], c["id"]))
            entries = [((c["createdAtTs"], c["id"]), self._cred_body(c, s))
                       for c in creds if (s := self._cred_status(c)) is not None]
        return self._page(req, entries, "credential/" + record["id"], "CredentialPaginationCursorInvalidValue")

    def get_credential(self, req, okmsId, credentialId):
        with self.store.lock:
            record = kmsmod.get_kms(self.store, okmsId)
            cred, status = self._get_cred(record, credentialId)
            return Response(200, self._cred_body(cred, status))

    def delete_credential(self, req, okmsId, credentialId):
        with self.store.lock:
            record = kmsmod.get_kms(self.store, okmsId)
            cred, status = self._get_cred(record, credentialId)
            if status == "DELETING":
                raise ApiError(400, CRED + "StatusInvalid",
                               f"Credential {cred['id']} is already being deleted")
            cred["deletedAtTs"] = time.time()
            if cred["id"] not in record["revokedCredentials"]:
                record["revokedCredentials"].append(cred["id"])
            self.store.save()
            return Response(200, self._cred_body(cred, "DELETING"))

    @staticmethod
    def _validate_credential(body):
        if not isinstance(body, dict):
            raise ApiError(400, "Client::BadRequest", "Request body must be a JSON object (okms.credential.Creation)")
        unknown = sorted(set(body) - CREDENTIAL_FIELDS)
        if unknown:
            raise ApiError(400, "Client::BadRequest",
                           f"Unknown field(s) {', '.join(unknown)} in okms.credential.Creation")

        def text(name, maximum, required=False):
            value = body.get(name)
            if value is None:
                if required:
                    raise ApiError(400, "Client::BadRequest", f"Missing required field {name}")
                return None
            if not isinstance(value, str):
                raise ApiError(400, "Client::BadRequest", f"Field {name} must be a string")
            label = name[0].upper() + name[1:]
            if required and not value.strip():
                raise ApiError(400, f"{CRED}{label}InvalidCharacter", f"{name} must not be empty")
            if any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in value):
                raise ApiError(400, f"{CRED}{label}InvalidCharacter", f"{name} contains control characters")
            if len(value) > maximum:
                raise ApiError(400, f"{CRED}{label}MaximumExceeded", f"{name} exceeds {maximum} characters")
            return value

        name = text("name", 50, required=True)
        description = text("description", 200)

        urns = body.get("identityURNs")
        if urns is None:
            raise ApiError(400, "Client::BadRequest", "Missing required field identityURNs")
        if not isinstance(urns, list) or not all(isinstance(u, str) for u in urns):
            raise ApiError(400, "Client::BadRequest", "Field identityURNs must be an array of strings")
        if not urns:
            raise ApiError(400, CRED + "IdentityURNsMinimumRequired", "At least one identity URN is required")
        if len(urns) > 25:
            raise ApiError(400, CRED + "IdentityURNsMaximumExceeded", "At most 25 identity URNs are allowed")
        for urn in urns:
            if len(urn) > URN_MAX_CHARS:
                raise ApiError(400, CRED + "IdentityURNsInvalidSize",
                               f"Identity URN exceeds {URN_MAX_CHARS} characters")
            if not IDENTITY_URN.match(urn):
                raise ApiError(400, CRED + "IdentityURNsInvalidURN", f"Invalid identity URN {urn!r}")

        validity = body.get("validity")
        if validity is None:
            validity = 365
        elif isinstance(validity, bool) or not isinstance(validity, int):
            raise ApiError(400, "Client::BadRequest", "Field validity must be an integer (days)")
        if validity < 1:
            raise ApiError(400, CRED + "ValidityMinimumRequired", "validity must be at least 1 day")
        if validity > 365:
            raise ApiError(400, CRED + "ValidityMaximumExceeded", "validity must be at most 365 days")

        ctype = body.get("certificateType")
        if ctype is not None and not isinstance(ctype, str):
            raise ApiError(400, "Client::BadRequest", "Field certificateType must be a string")
        if ctype is not None and ctype not in ("ECDSA", "RSA"):
            raise ApiError(400, CRED + "CertificateTypeInvalidEnum",
                           f"Invalid certificateType {ctype!r}: expected ECDSA or RSA")

        csr = body.get("csr")
        if csr is not None:
            if not isinstance(csr, str):
                raise ApiError(400, "Client::BadRequest", "Field csr must be a string")
            if ctype == "RSA":
                raise ApiError(400, CRED + "CertificateTypeIncompatibleFields",
                               "certificateType RSA cannot be used with a csr")
            if len(csr) > CSR_MAX_CHARS:
                raise ApiError(400, CRED + "CSRMaximumExceeded", f"csr exceeds {CSR_MAX_CHARS} characters")
            try:
                csr = pki.parse_csr(csr)
            except pki.CSRError as exc:
                raise ApiError(400, CRED + "CSRInvalidCharacter", f"Invalid csr: {exc}") from None
        return name, description, urns, validity, ctype, csr

    def create_credential(self, req, okmsId):
        body = req.json()
        with self.store.lock:
            record = kmsmod.get_kms(self.store, okmsId)  # 404 before body errors
        name, description, urns, validity, ctype, csr = self._validate_credential(body)
        private_pem = None
        if csr is not None:
            public_key = csr.public_key()
            # Certificate type follows the key of the CSR.
            ctype = "RSA" if isinstance(public_key, rsa.RSAPublicKey) else "ECDSA"
        else:
            ctype = ctype or "ECDSA"
            key = pki.generate_credential_key(ctype)
            public_key = key.public_key()
            private_pem = pki.credential_key_to_pem(key)
        cid = str(uuid.uuid4())
        now = pki.utcnow()
        not_after = now + pki.datetime.timedelta(days=validity)
        ca = record["rsaCa"] if isinstance(public_key, rsa.RSAPublicKey) else record["ca"]
        assert isinstance(public_key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey))
        cert_pem = pki.issue_credential_certificate(ca, record["id"], cid, public_key, now, not_after)
        cred = {
            "id": cid, "name": name, "description": description, "identityURNs": urns,
            "certificateType": ctype, "fromCSR": csr is not None,
            "createdAt": kmsmod.iso(now.timestamp()), "createdAtTs": time.time(),
            "expiredAt": kmsmod.iso(not_after.timestamp()), "expiredAtTs": not_after.timestamp(),
            "certificatePEM": cert_pem, "deletedAtTs": None,
        }
        with self.store.lock:
            record = kmsmod.get_kms(self.store, okmsId)  # may have been terminated meanwhile
            record["credentials"][cid] = cred
            self.store.save()
        out = {k: v for k, v in self._cred_body(cred, "CREATING").items() if k != "certificatePEM"}
        out["privateKeyPEM"] = private_pem
        return Response(200, out)

    # -- service keys ---------------------------------------------------------------

    def _key_iam(self, record, key):
        return {"id": key["id"],
                "urn": f"{kmsmod.kms_urn(record)}/serviceKey/{key['id']}",
                "displayName": key["name"],
                "tags": {"ovh:type": key["type"], "ovh:state": key["state"]},
                "state": "OK"}

    def _key_body(self, record, key, with_iam, fmt=None):
        # An EC key has no size, only a curve (state files of older emulators kept the curve's bits).
        size = None if key["type"] == "EC" else key.get("size")
        body = {"id": key["id"], "name": key["name"], "type": key["type"],
                "size": size, "curve": key.get("curve"),
                "operations": list(key.get("operations") or []),
                "state": key["state"], "createdAt": key["createdAt"]}
        if with_iam:
            body["iam"] = self._key_iam(record, key)
        keys = _keys_module()
        if fmt == "JWK":
            body["keys"] = [keys.public_jwk(key)]
        elif fmt == "PEM":
            pem = keys.public_pem(key)
            if pem is not None:
                body["keysPEM"] = [{"pem": pem}]
        return body

    def _get_key(self, record, key_id):
        kid = kmsmod.parse_uuid(key_id, "keyId")
        key = record["serviceKeys"].get(kid)
        if key is None:
            raise ApiError(404, "Client::NotFound", f"Service key {kid} not found")
        return key

    @staticmethod
    def _key_error(exc):
        return ApiError(getattr(exc, "status", 400) or 400, exc.error_class, exc.message)

    def list_keys(self, req, okmsId):
        filters = self._tag_filter(req)
        with self.store.lock:
            record = kmsmod.get_kms(self.store, okmsId)
            keys = sorted(record["serviceKeys"].values(), key=lambda k: (k["createdAt"], k["id"]))
            entries = [((k["createdAt"], k["id"]), self._key_body(record, k, True)) for k in keys]
        entries = [(key, i) for key, i in entries if self._tags_match(i["iam"]["tags"], filters)]
        return self._page(req, entries, "serviceKey/" + record["id"], "ServiceKeyPaginationCursorInvalidValue")

    def get_key(self, req, okmsId, keyId):
        fmt = req.arg("format")
        if fmt is not None and fmt not in ("JWK", "PEM"):
            raise ApiError(400, "Client::BadRequest",
                           f"Invalid value for parameter format: {fmt!r} is not a valid okms.KeyFormatEnum")
        with self.store.lock:
            record = kmsmod.get_kms(self.store, okmsId)
            return Response(200, self._key_body(record, self._get_key(record, keyId), True, fmt))

    def create_key(self, req, okmsId):
        keys = _keys_module()
        body = req.json()
        with self.store.lock:
            kmsmod.get_kms(self.store, okmsId)
        try:
            fields = keys.build_service_key(body)
        except keys.ServiceKeyError as exc:
            raise self._key_error(exc) from None
        with self.store.lock:
            record = kmsmod.get_kms(self.store, okmsId)
            key = dict(fields)
            key.update({"id": str(uuid.uuid4()), "state": "ACTIVE", "deactivationReason": None,
                        "createdAt": kmsmod.iso(time.time())})
            record["serviceKeys"][key["id"]] = key
            self.store.save()
            return Response(200, self._key_body(record, key, False))

    def update_key(self, req, okmsId, keyId):
        keys = _keys_module()
        body = req.json()
        with self.store.lock:
            record = kmsmod.get_kms(self.store, okmsId)
            key = self._get_key(record, keyId)
            candidate = json.loads(json.dumps(key))  # all-or-nothing update
            try:
                keys.apply_service_key_update(candidate, body)
            except keys.ServiceKeyError as exc:
                raise self._key_error(exc) from None
            key.clear()
            key.update(candidate)
            self.store.save()
            return Response(200, self._key_body(record, key, False))

    def delete_key(self, req, okmsId, keyId):
        keys = _keys_module()
        with self.store.lock:
            record = kmsmod.get_kms(self.store, okmsId)
            key = self._get_key(record, keyId)
            try:
                keys.check_deletable(key)
            except keys.ServiceKeyError as exc:
                raise self._key_error(exc) from None
            del record["serviceKeys"][key["id"]]
            self.store.save()
        return Response(200, None)
