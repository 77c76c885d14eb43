"""Fault injection: each kind, targeting, seeds, counters, audit lines, the admin endpoint and the flags.

Driven with unmodified python-ovh (control plane) and requests (mTLS data plane,
raw HTTP). Faults are switched on per test through ``PUT /_emulator/faults`` on
the session's emulator, and always switched off again.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
import warnings

import ovh
import pytest
import requests

from conftest import EMULATOR_DIR, URN, app_client, oauth_client, saved_state, wait_ready
from test_testing import child_env, readme_block
from okms_emulator import cli
from okms_emulator.testing import running_emulator

ALL_KINDS = ["429", "500", "502", "503", "reset", "slow", "commit-reset", "commit-502"]
ERROR_CLASSES = {"429": "Client::TooManyRequests", "500": "Server::InternalServerError",
                 "502": "Server::BadGateway", "503": "Server::ServiceUnavailable"}
DATA_ERROR_MEMBERS = {"error_code", "error_id", "errors", "request_id"}
ACCOUNT = "account:xx1111-ovh"


SESSION = requests.Session()  # keep-alive: many small requests, one TLS handshake


def admin(conn, method="GET", config=None):
    return SESSION.request(method, conn["faults_url"], json=config, verify=conn["ca_path"], timeout=10)


@pytest.fixture
def faults(conn):
    """``faults(**config)`` replaces the emulator's fault configuration; faults are off after the test."""
    def configure(**config):
        response = admin(conn, "PUT", config)
        assert response.status_code == 200, response.text
        return response.json()
    yield configure
    assert admin(conn, "PUT", {"rate": 0}).status_code == 200


class Audit:
    """The audit lines written after a mark."""

    def __init__(self, conn):
        self.path = conn["audit_log"]
        self.mark = len(self._all())

    def _all(self):
        with open(self.path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def lines(self, path=None, method=None, wait_for=0):
        """New lines (of ``path`` and ``method`` if given); waits until there are ``wait_for`` of them."""
        deadline = time.time() + 5
        while True:
            found = [l for l in self._all()[self.mark:]
                     if path in (None, l["path"]) and method in (None, l["method"])]
            if len(found) >= wait_for or time.time() > deadline:
                return found
            time.sleep(0.05)


def key_path(okms_id):
    return f"/v2/okms/resource/{okms_id}/serviceKey"


def key_names(client, okms_id):
    """Every service key name of the KMS (all pages)."""
    names, cursor = {}, None
    while True:
        headers = {"X-Pagination-Size": "100", **({"X-Pagination-Cursor": cursor} if cursor else {})}
        response = client.raw_call("GET", key_path(okms_id), headers=headers)
        assert response.status_code == 200, response.text
        names.update({k["name"]: k["id"] for k in response.json()})
        cursor = response.headers.get("X-Pagination-Cursor-Next")
        if not cursor:
            return names


def create_key(client, okms_id, name):
    return client.post(key_path(okms_id), name=name, type="oct", size=128, operations=["encrypt", "decrypt"])


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def only_posts_to(path):
    return {"methods": ["POST"], "paths": "^" + re.escape(path) + "$"}


# -- off by default, and each kind -----------------------------------------------------------------


def test_off_by_default(conn):
    state = admin(conn).json()
    assert state["config"] == {"rate": 0.0, "kinds": ALL_KINDS, "seed": None, "methods": None, "paths": None,
                               "planes": ["control", "data"], "slow_seconds": 1.0}
    assert set(state["injected"]) == set(ALL_KINDS)


@pytest.mark.parametrize("kind", ["429", "500", "502", "503"])
def test_error_kinds_answer_without_applying(api, conn, kms_id, faults, kind):
    client, name = api.client, unique(f"f{kind}")
    faults(rate=1, kinds=[kind], **only_posts_to(key_path(kms_id)))
    audit = Audit(conn)
    with pytest.raises(ovh.exceptions.APIError) as err:
        create_key(client, kms_id, name)
    response = err.value.response
    assert response.status_code == int(kind)
    assert response.json()["class"] == ERROR_CLASSES[kind]
    assert response.headers["X-Ovh-QueryID"]
    assert response.headers.get("Retry-After") == ("1" if kind == "429" else None)
    assert name not in key_names(client, kms_id)  # GETs are not targeted
    [line] = audit.lines(key_path(kms_id))[:1]
    assert line == {**line, "method": "POST", "status": int(kind), "fault": kind, "applied_status": None,
                    "identity": None, "mutating": True}


def test_reset_closes_the_connection_without_applying(api, conn, kms_id, faults):
    client, name = api.client, unique("freset")
    faults(rate=1, kinds=["reset"], **only_posts_to(key_path(kms_id)))
    audit = Audit(conn)
    with pytest.raises(ovh.exceptions.HTTPError) as err:
        create_key(client, kms_id, name)
    assert isinstance(err.value.args[1], requests.exceptions.ConnectionError)
    assert name not in key_names(client, kms_id)
    [line] = audit.lines(key_path(kms_id))[:1]
    # logged although nothing was answered
    assert line == {**line, "method": "POST", "status": None, "fault": "reset", "applied_status": None,
                    "identity": None, "mutating": True}


def test_commit_reset_applies_the_write_then_drops_the_answer(api, conn, kms_id, faults):
    client, name = api.client, unique("fcommit")
    faults(rate=1, kinds=["commit-reset"], **only_posts_to(key_path(kms_id)))
    audit = Audit(conn)
    with pytest.raises(ovh.exceptions.HTTPError):
        create_key(client, kms_id, name)
    key_id = key_names(client, kms_id)[name]
    assert client.get(f"{key_path(kms_id)}/{key_id}")["name"] == name
    state = saved_state(conn, lambda state: key_id in state["okms"][kms_id]["serviceKeys"])
    assert key_id in state["okms"][kms_id]["serviceKeys"]  # applied, then saved like any change
    [line] = audit.lines(key_path(kms_id))[:1]
    assert line == {**line, "method": "POST", "status": None, "fault": "commit-reset", "applied_status": 200,
                    "identity": ACCOUNT, "mutating": True}


def test_commit_502_applies_the_write_then_answers_502(api, conn, kms_id, faults):
    client, name = api.client, unique("f502c")
    key_id = create_key(client, kms_id, name)["id"]
    path = f"{key_path(kms_id)}/{key_id}"
    faults(rate=1, kinds=["commit-502"], methods=["PUT", "DELETE"], paths="^" + re.escape(path) + "$")
    audit = Audit(conn)
    with pytest.raises(ovh.exceptions.APIError) as err:
        client.put(path, state="DEACTIVATED", deactivationReason="UNSPECIFIED")
    assert err.value.response.status_code == 502
    assert err.value.response.json()["class"] == "Server::BadGateway"
    assert client.get(path)["state"] == "DEACTIVATED"
    with pytest.raises(ovh.exceptions.APIError):
        client.delete(path)
    with pytest.raises(ovh.exceptions.ResourceNotFoundError):
        client.get(path)
    lines = audit.lines(path, wait_for=4)
    changes = [l for l in lines if l["method"] != "GET"]
    assert [(l["method"], l["status"], l["fault"], l["applied_status"]) for l in changes] == [
        ("PUT", 502, "commit-502", 200), ("DELETE", 502, "commit-502", 200)]
    assert all(l["fault"] is None for l in lines if l["method"] == "GET")


def test_slow_answers_late_after_applying(api, conn, kms_id, faults):
    faults(rate=1, kinds=["slow"], slow_seconds=0.3, **only_posts_to(key_path(kms_id)))
    audit = Audit(conn)
    name = unique("fslow")
    started = time.monotonic()
    assert create_key(api.client, kms_id, name)["name"] == name
    assert time.monotonic() - started >= 0.3
    # A client that gives up before the answer: the write took effect anyway.
    faults(rate=1, kinds=["slow"], slow_seconds=1, **only_posts_to(key_path(kms_id)))
    impatient = app_client(conn, timeout=(10, 0.5))
    for _ in range(5):  # python-ovh asks /auth/time once, before signing: let a loaded machine retry
        try:
            assert impatient.time_delta is not None
            break
        except ovh.exceptions.HTTPError:
            pass
    late = unique("fslow")
    with pytest.raises(ovh.exceptions.HTTPError) as err:
        create_key(impatient, kms_id, late)
    assert isinstance(err.value.args[1], requests.exceptions.Timeout)
    assert late in key_names(api.client, kms_id)
    lines = audit.lines(key_path(kms_id), "POST", wait_for=2)  # written once the delay is over
    assert [(l["fault"], l["applied_status"]) for l in lines] == [("slow", 200), ("slow", 200)]
    assert lines[0]["status"] == 200


# -- the data plane, with requests and a client certificate -----------------------------------------


@pytest.fixture(scope="module")
def certificate(api, kms_id, tmp_path_factory):
    cred = api.post(f"/v2/okms/resource/{kms_id}/credential", name="faults", identityURNs=[URN])
    ready = wait_ready(api, kms_id, cred["id"])
    folder = tmp_path_factory.mktemp("faults")
    (folder / "cert.pem").write_text(ready["certificatePEM"])
    (folder / "key.pem").write_text(cred["privateKeyPEM"])
    return str(folder / "cert.pem"), str(folder / "key.pem")


def test_data_plane_faults(conn, kms_id, certificate, faults):
    url = f"{conn['data_endpoint']}/api/{kms_id}/v1/servicekey"

    def create(key_id):
        return requests.post(url, json={"id": key_id, "name": "dp-fault", "type": "oct", "size": 256,
                                        "operations": ["encrypt", "decrypt"]},
                             cert=certificate, verify=conn["ca_path"], timeout=10)

    def exists(key_id):
        found = requests.get(f"{url}/{key_id}", cert=certificate, verify=conn["ca_path"], timeout=10)
        assert found.status_code in (200, 404), found.text
        return found.status_code == 200

    audit = Audit(conn)
    faults(rate=1, kinds=["503"], planes=["data"], methods=["POST"])
    refused, lost, committed = (str(uuid.uuid4()) for _ in range(3))
    answer = create(refused)
    assert answer.status_code == 503 and set(answer.json()) == DATA_ERROR_MEMBERS
    faults(rate=1, kinds=["reset"], planes=["data"], methods=["POST"])
    with pytest.raises(requests.exceptions.ConnectionError):
        create(lost)
    faults(rate=1, kinds=["commit-reset"], planes=["data"], methods=["POST"])
    with pytest.raises(requests.exceptions.ConnectionError):
        create(committed)
    assert (exists(refused), exists(lost), exists(committed)) == (False, False, True)
    posts = [l for l in audit.lines() if l["plane"] == "data" and l["method"] == "POST"]
    assert [(l["fault"], l["status"], l["applied_status"]) for l in posts] == [
        ("503", 503, None), ("reset", None, None), ("commit-reset", None, 201)]
    assert posts[2]["identity"].startswith("certificate:") and posts[0]["identity"] is None


# -- targeting ------------------------------------------------------------------------------------


def test_targeting_by_method_path_and_plane(api, conn, kms_id, certificate, faults):
    client = api.client
    data_url = f"{conn['data_endpoint']}/api/{kms_id}/v1/servicekey"
    faults(rate=1, kinds=["503"], methods=["post"], paths=r"/serviceKey$", planes=["control"])
    assert isinstance(client.get(key_path(kms_id)), list)                      # GET: not targeted
    with pytest.raises(ovh.exceptions.APIError):
        create_key(client, kms_id, unique("ftarget"))                          # POST .../serviceKey
    assert client.post("/order/cart", ovhSubsidiary="FR")["cartId"]            # POST, other path
    assert requests.post(data_url, json={"name": "t", "type": "oct", "size": 128,
                                         "operations": ["encrypt", "decrypt"]},
                         cert=certificate, verify=conn["ca_path"]).status_code == 201  # data plane
    faults(rate=1, kinds=["503"], planes=["data"])
    assert isinstance(client.get(key_path(kms_id)), list)                      # control: not targeted
    assert requests.get(data_url, cert=certificate, verify=conn["ca_path"]).status_code == 503


def test_token_endpoint_and_auth_time_are_targetable(conn, faults):
    time_url = conn["endpoint"] + "/auth/time"
    faults(rate=1, kinds=["503"], paths="^/1\\.0/auth/time$")
    # a fresh python-ovh client asks /auth/time before its first signed call
    with pytest.raises(ovh.exceptions.APIError) as err:
        app_client(conn).get("/me")
    assert err.value.response.status_code == 503
    faults(rate=1, kinds=["503"], paths="^/auth/oauth2/token$")
    assert requests.get(time_url, verify=conn["ca_path"]).status_code == 200
    with pytest.raises(Exception) as err:  # requests-oauthlib's own error for a failed token request
        oauth_client(conn).get("/v2/okms/reference/regions")
    assert "503" in str(err.value) or "Service Unavailable" in str(err.value)
    # with no path given, both are targeted: nothing is exempt but the admin endpoint itself
    faults(rate=1, kinds=["503"])
    assert requests.get(time_url, verify=conn["ca_path"]).status_code == 503
    token = requests.post(conn["token_url"], data={"grant_type": "client_credentials", "scope": "all"},
                          auth=(conn["client_id"], conn["client_secret"]), verify=conn["ca_path"])
    assert token.status_code == 503


def test_admin_endpoint_is_never_faulted(conn, faults):
    faults(rate=1, kinds=["reset", "503", "slow"], slow_seconds=5)
    for _ in range(5):
        answer = SESSION.get(conn["faults_url"], verify=conn["ca_path"], timeout=4.5)  # a slow one: 5 s
        assert answer.status_code == 200
    assert admin(conn, "PUT", {"rate": 0}).status_code == 200
    assert requests.get(conn["endpoint"] + "/auth/time", verify=conn["ca_path"]).status_code == 200


# -- seeds, counters and the audit log ---------------------------------------------------------------


def _statuses(conn, n=20):
    return [SESSION.get(conn["endpoint"] + "/auth/time", verify=conn["ca_path"]).status_code for _ in range(n)]


def test_a_seed_makes_a_run_repeatable_and_counters_match_the_audit_log(conn, faults):
    config = {"rate": 0.5, "kinds": ["429", "500", "503"], "seed": 1234, "paths": "^/1\\.0/auth/time$"}
    before = faults(**config)
    audit = Audit(conn)
    first = _statuses(conn)
    assert faults(**config)["config"]["seed"] == 1234  # re-applying restarts the sequence
    assert _statuses(conn) == first
    assert 200 in first and set(first) - {200}, first  # some pass, some fail
    faults(**{**config, "seed": 4321})
    assert _statuses(conn) != first
    after = admin(conn).json()
    assert after["eligible"] - before["eligible"] == 60
    lines = audit.lines("/1.0/auth/time", wait_for=60)
    for kind in ALL_KINDS:
        logged = sum(1 for l in lines if l["fault"] == kind)
        assert after["injected"][kind] - before["injected"][kind] == logged, kind
    assert after["injected_total"] - before["injected_total"] == sum(1 for l in lines if l["fault"])
    assert all(l["status"] == int(l["fault"]) for l in lines if l["fault"])
    assert all(l["status"] == 200 and "applied_status" not in l for l in lines if not l["fault"])


# -- the admin endpoint -------------------------------------------------------------------------------


@pytest.mark.parametrize("config, named", [
    ({"rate": 1.5}, "rate"),
    ({"rate": True}, "rate"),
    ({"kinds": ["404"]}, "kinds"),
    ({"kinds": []}, "kinds"),
    ({"methods": ["FETCH"]}, "methods"),
    ({"planes": ["kmip"]}, "planes"),
    ({"paths": "(unclosed"}, "paths"),
    ({"seed": "x"}, "seed"),
    ({"slow_seconds": -1}, "slow_seconds"),
    ({"rate": 0.1, "kind": ["500"]}, "kind"),
    ([0.5], "JSON object"),
])
def test_admin_refuses_a_bad_configuration(conn, faults, config, named):
    faults(rate=0.25, kinds=["500"])
    response = admin(conn, "PUT", config)
    assert response.status_code == 400
    assert response.json()["class"] == "Client::BadRequest" and named in response.json()["message"]
    assert admin(conn).json()["config"]["rate"] == 0.25  # unchanged


def test_admin_methods(conn):
    assert admin(conn, "DELETE").status_code == 405
    assert requests.put(conn["faults_url"], data=b"{", verify=conn["ca_path"]).status_code == 400


# -- start-up flags, and the admin endpoint on loopback only ---------------------------------------------


FLAGS = ["--fault-rate", "1", "--fault-kinds", "503", "--fault-seed", "7", "--fault-methods", "get",
         "--fault-paths", "^/1\\.0/auth/time$", "--fault-planes", "control", "--fault-slow-seconds", "0.2"]


@pytest.fixture(scope="module")
def flagged():
    """An emulator started with --fault-* flags, listening on every address."""
    with running_emulator(extra_args=FLAGS + ["--host", "0.0.0.0"]) as conn:
        local = dict(conn)
        for name in ("endpoint", "base_url", "faults_url", "token_url"):
            local[name] = conn[name].replace("0.0.0.0", "127.0.0.1")
        yield local


def test_start_up_flags(flagged):
    state = admin(flagged).json()
    assert state["config"] == {"rate": 1.0, "kinds": ["503"], "seed": 7, "methods": ["GET"],
                               "paths": "^/1\\.0/auth/time$", "planes": ["control"], "slow_seconds": 0.2}
    assert requests.get(flagged["endpoint"] + "/auth/time", verify=flagged["ca_path"]).status_code == 503
    unsigned = requests.get(flagged["base_url"] + "/v2/okms/resource", verify=flagged["ca_path"])
    assert unsigned.status_code == 401  # another path: no fault
    assert admin(flagged).json()["injected"]["503"] == 1
    assert admin(flagged, "PUT", {"rate": 0}).status_code == 200  # off at run time
    assert requests.get(flagged["endpoint"] + "/auth/time", verify=flagged["ca_path"]).status_code == 200


def _non_loopback_address():
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def test_admin_endpoint_is_served_on_loopback_only(flagged):
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    port = flagged["base_url"].rsplit(":", 1)[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the server certificate names 127.0.0.1 only
        remote = requests.get(f"https://{address}:{port}/_emulator/faults", verify=False, timeout=10)
    assert remote.status_code == 404 and remote.json()["class"] == "Client::NotFound"
    assert admin(flagged).status_code == 200


def test_a_bad_flag_is_refused_before_start(tmp_path):
    result = subprocess.run([sys.executable, "-m", "okms_emulator", "serve", "--state-dir", str(tmp_path),
                             "--fault-rate", "2"], cwd=EMULATOR_DIR, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "--fault-rate must be a number from 0 to 1, not 2.0" in result.stderr
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("flag, value, message", [
    ("--fault-kinds", "500,404", "--fault-kinds has an unknown value '404'"),
    ("--fault-methods", "GET,FETCH", "--fault-methods has an unknown value 'FETCH'"),
    ("--fault-planes", "kmip", "--fault-planes has an unknown value 'kmip'"),
    ("--fault-paths", "(", "--fault-paths is not a valid regular expression"),
    ("--fault-slow-seconds", "-1", "--fault-slow-seconds must be a number from 0 to 300"),
])
def test_bad_flags_name_the_flag(tmp_path, capsys, flag, value, message):
    with pytest.raises(SystemExit) as exited:
        cli.main(["serve", "--state-dir", str(tmp_path), flag, value])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    assert not os.listdir(tmp_path)


def test_readme_admin_example_runs_as_written(conn):
    script = readme_block("## Fault injection", "sh")
    result = subprocess.run(["bash", "-euc", script], env=dict(child_env(), STATE=conn["state_dir"]),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    answers = [json.loads(line) for line in result.stdout.replace("}{", "}\n{").splitlines() if line.strip()]
    assert answers[0]["config"]["seed"] == 1 and answers[0]["config"]["rate"] == 0.5
    assert answers[1]["config"]["methods"] == ["POST", "PUT", "DELETE"]
    assert answers[2]["config"]["rate"] == 0.0 == admin(conn).json()["config"]["rate"]
