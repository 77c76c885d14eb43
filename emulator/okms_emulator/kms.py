"""KMS instances: creation (on order delivery), URNs, IAM blocks, lookup,
and the time-driven credential lifecycle (computed on read, no threads)."""

import datetime
import time
import uuid

from . import pki
from .errors import ApiError

REGIONS = {
    # id: (location type, certifications)
    "eu-west-rbx": ("REGION-1-AZ", ["STANDARD", "HDS"]),
    "eu-west-sbg": ("REGION-1-AZ", ["STANDARD", "HDS"]),
    "eu-west-gra": ("REGION-1-AZ", ["STANDARD", "HDS"]),
    "eu-west-par": ("REGION-3-AZ", ["STANDARD"]),
    "eu-west-eri": ("REGION-1-AZ", ["STANDARD"]),
    "eu-west-lim": ("REGION-1-AZ", ["STANDARD"]),
    "eu-south-mil": ("REGION-3-AZ", ["STANDARD"]),
    "eu-central-waw": ("REGION-1-AZ", ["STANDARD"]),
    "ca-east-bhs": ("REGION-1-AZ", ["STANDARD"]),
    "ca-east-tor": ("REGION-1-AZ", ["STANDARD"]),
    "ap-south-mum": ("REGION-1-AZ", ["STANDARD"]),
    "ap-southeast-sgp": ("REGION-1-AZ", ["STANDARD"]),
    "ap-southeast-syd": ("REGION-1-AZ", ["STANDARD"]),
}


def iso(ts):
    """RFC 3339 UTC with ``Z`` (the store's date format)."""
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).replace(microsecond=0) \
        .isoformat().replace("+00:00", "Z")


def urn_zone(region):
    # European regions live on the eu API, the others (Canada, APAC) on ca.
    return "eu" if region.startswith("eu-") else "ca"


def kms_urn(record):
    return f"urn:v1:{urn_zone(record['region'])}:resource:okms:{record['id']}"


def parse_uuid(value, name):
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(400, "Client::BadRequest",
                       f"Invalid value for parameter {name}: {value!r} is not a uuid") from None


def get_kms(store, okms_id):
    okms_id = parse_uuid(okms_id, "okmsId")
    record = store.data["okms"].get(okms_id)
    if record is None:
        raise ApiError(404, "Client::NotFound", f"OKMS {okms_id} not found")
    return record


def create_kms(store, region, service_id):
    """Materialise a delivered KMS with its CAs. Caller holds ``store.lock``."""
    okms_id = str(uuid.uuid4())
    cas = pki.make_kms_cas(okms_id)
    store.data["okms"][okms_id] = {
        "id": okms_id, "region": region, "displayName": okms_id, "serviceId": service_id,
        "createdAt": iso(time.time()),
        "ca": cas["ca"], "rsaCa": cas["rsaCa"],
        "serviceKeys": {}, "credentials": {}, "revokedCredentials": [],
    }
    return store.data["okms"][okms_id]


def credential_status(cred, now, ready_delay, delete_delay):
    """Status as of ``now``; ``None`` once a deletion has completed."""
    if cred.get("deletedAtTs") is not None:
        if now >= cred["deletedAtTs"] + delete_delay:
            return None
        return "DELETING"
    if now < cred["createdAtTs"] + ready_delay:
        return "CREATING"
    if now >= cred["expiredAtTs"]:
        return "EXPIRED"
    return "READY"


def purge_deleted_credentials(store, ready_delay, delete_delay):
    """Drop credentials whose deletion finished. Caller holds the lock."""
    now = time.time()
    changed = False
    for record in store.data["okms"].values():
        creds = record["credentials"]
        for cid in [c for c, v in creds.items()
                    if credential_status(v, now, ready_delay, delete_delay) is None]:
            del creds[cid]
            changed = True
    return changed
