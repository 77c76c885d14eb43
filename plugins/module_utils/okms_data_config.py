# -*- coding: utf-8 -*-
# Copyright (c) ovhcloud.kms contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""How a data-plane module or lookup finds its KMS: endpoint, KMS id and identity.

Sources, each setting on its own: the task's options, else the okms-cli
configuration file (``config_file``, the ``okms.yaml`` the role deploys, in
the profile asked for), else, for the identity only, an OAuth2 service account
configured for the OVHcloud API (``client_id``/``client_secret`` options,
``OVH_*`` variables, ``ovh.conf``). The KMS id comes from the options, the
file's ``okmsId``, or the access certificate itself (its SAN names
``okms.domain:<okmsId>``). Nothing here reads a secret's value into a message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import os
import re

from ansible_collections.ovhcloud.kms.plugins.module_utils.cryptography_dependency import HAS_CRYPTOGRAPHY, x509
from ansible_collections.ovhcloud.kms.plugins.module_utils.ovh_errors import OvhConfigurationError

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - a target without PyYAML uses the reader below
    HAS_YAML = False

# The options every data-plane module and lookup adds (documented in the ovhcloud.kms.data_plane fragment).
DATA_PLANE_ARGUMENT_SPEC = dict(
    config_file=dict(type="path"),
    profile=dict(type="str"),
    rest_endpoint=dict(type="str"),
    okms_id=dict(type="str"),
    client_cert=dict(type="path"),
    # A path, not a key.
    client_key=dict(type="path", no_log=False),
    token=dict(type="str", no_log=True),
)

# The SAN's UPN is a DER UTF8String (tag 0x0c, one length byte): "okms.domain:<okmsId>".
_UPN_PREFIX = b"okms.domain:"
_OKMS_ID_IN_CERTIFICATE = re.compile(b"\x0c([\x0c-\x7f])" + re.escape(_UPN_PREFIX))
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class DataPlaneSettings:
    """Where and as whom to call one KMS's REST API; ``auth`` is ``mtls``, ``token`` or ``oauth2``."""

    def __init__(self, rest_endpoint, okms_id, auth, client_cert=None, client_key=None, token=None, ca_path=None,
                 sources=None):
        self.rest_endpoint = rest_endpoint
        self.okms_id = okms_id
        self.auth = auth
        self.client_cert = client_cert
        self.client_key = client_key
        self.token = token
        self.ca_path = ca_path
        self.sources = sources or {}

    def describe(self, field):
        where = self.sources.get(field)
        return "%s (from %s)" % (field, where) if where else field


# -- okms-cli's configuration file ---------------------------------------------------

def read_config_file(path, read=None):
    """The okms-cli configuration in ``path`` as a dict; OvhConfigurationError naming the file when unusable."""
    try:
        if read is not None:
            text = read(path)
        else:
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8")
    except (IOError, OSError) as exc:
        raise OvhConfigurationError("config_file: cannot read %s: %s" % (path, exc.strerror or exc))
    except UnicodeDecodeError:
        raise OvhConfigurationError("config_file: %s is not UTF-8 text" % path)
    try:
        document = yaml.safe_load(text) if HAS_YAML else parse_simple_yaml(text)
    except Exception as exc:  # yaml.YAMLError or ValueError, with a line number
        raise OvhConfigurationError("config_file: %s is not valid YAML: %s" % (path, exc))
    if not isinstance(document, dict):
        raise OvhConfigurationError("config_file: %s does not hold an okms-cli configuration (a mapping with "
                                    "profiles)" % path)
    return document


def _scalar(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        inner = text[1:-1]
        return inner.replace("''", "'") if text[0] == "'" else inner.replace('\\"', '"').replace("\\\\", "\\")
    lowered = text.lower()
    if lowered in ("", "~", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    if re.match(r"^-?\d+$", text):
        return int(text)
    return text


def _strip_comment(line):
    quote = None
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[:index]
    return line


def _flow_mapping(text, number):
    inner = text.strip()[1:-1].strip()
    result = {}
    if not inner:
        return result
    for item in inner.split(","):
        if ":" not in item:
            raise ValueError("line %d: expected 'key: value' in %s" % (number, text.strip()))
        key, value = item.split(":", 1)
        result[_scalar(key)] = _scalar(value)
    return result


def parse_simple_yaml(text):
    """Read the YAML okms-cli configurations are written in, for targets without PyYAML.

    Block mappings nested by indentation, scalars (plain or quoted) and one-line
    ``{key: value}`` mappings: everything an okms-cli configuration holds. Anything
    else (lists, anchors, multi-line strings) is a ValueError with its line number.
    """
    root = {}
    stack = [(-1, root)]
    for number, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw).rstrip()
        if not line.strip() or line.strip() in ("---", "..."):
            continue
        indent = len(line) - len(line.lstrip(" "))
        content = line.strip()
        if content.startswith(("- ", "&", "*", "|", ">")) or content == "-":
            raise ValueError("line %d: only mappings and scalars are supported here (install PyYAML on the target "
                             "for other YAML)" % number)
        match = re.match(r"^(\"[^\"]*\"|'[^']*'|[^:]+?)\s*:(?:\s+(.*))?$", content)
        if not match:
            raise ValueError("line %d: expected 'key: value', got %r" % (number, content))
        key, value = _scalar(match.group(1)), (match.group(2) or "").strip()
        while stack and indent <= stack[-1][0]:
            stack.pop()
        if not stack:
            raise ValueError("line %d: bad indentation" % number)
        parent = stack[-1][1]
        if value.startswith("{") and value.endswith("}"):
            parent[key] = _flow_mapping(value, number)
        elif value:
            parent[key] = _scalar(value)
        else:
            parent[key] = {}
            stack.append((indent, parent[key]))
    # A key left with an empty mapping and no children was a null in YAML.
    return _nulls_for_empty(root)


def _nulls_for_empty(node):
    for key, value in node.items():
        if isinstance(value, dict):
            node[key] = _nulls_for_empty(value) if value else None
    return node


def config_profile(document, path, profile=None):
    """The ``restapi`` section of ``profile`` (else the file's ``profile``, else ``default``), and the profile's name."""
    name = profile or document.get("profile") or "default"
    profiles = document.get("profiles")
    if not isinstance(profiles, dict) or not profiles:
        raise OvhConfigurationError("config_file: %s has no profiles (okms-cli's format: version, profile, "
                                    "profiles.<name>.restapi)" % path)
    if name not in profiles:
        raise OvhConfigurationError("config_file: %s has no profile %r (its profiles: %s)"
                                    % (path, name, ", ".join(sorted(str(p) for p in profiles))))
    restapi = (profiles[name] or {}).get("restapi")
    if not isinstance(restapi, dict):
        raise OvhConfigurationError("config_file: profile %r of %s has no restapi section" % (name, path))
    return restapi, name


def _file_path(value, config_path):
    # okms-cli configurations are usually written with absolute paths; a relative one is read
    # relative to the file, so a configuration directory can be moved as a whole.
    value = os.path.expanduser(str(value))
    return value if os.path.isabs(value) else os.path.join(os.path.dirname(os.path.abspath(config_path)), value)


# -- the KMS id in an access certificate ---------------------------------------------

def okms_id_from_certificate(path, read=None):
    """The KMS id an access certificate is for (its SAN ``okms.domain:<okmsId>``), or None."""
    try:
        if read is not None:
            data = read(path)
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except (IOError, OSError) as exc:
        raise OvhConfigurationError("client_cert: cannot read %s: %s" % (path, exc.strerror or exc))
    if isinstance(data, str):
        data = data.encode("ascii", "replace")
    # The PEM's DER, searched as bytes: no X.509 library is needed on the target for this.
    pem = re.search(br"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", data, re.DOTALL)
    if pem is None:
        raise OvhConfigurationError("client_cert: %s holds no PEM certificate" % path)
    try:
        der = base64.b64decode(b"".join(pem.group(1).split()))
    except (TypeError, ValueError):
        raise OvhConfigurationError("client_cert: %s holds a damaged PEM certificate" % path)
    found = _OKMS_ID_IN_CERTIFICATE.search(der)
    if found is None:
        return None
    value = der[found.start() + 2:found.start() + 2 + ord(found.group(1))]
    return value[len(_UPN_PREFIX):].decode("ascii", "replace")


def check_certificate_dates(path, now=None):
    """OvhConfigurationError when the certificate at ``path`` is outside its validity dates by this machine's clock.

    A KMS refuses such a certificate during the TLS handshake, where the client often sees only a closed
    connection; said here, before any request, the cause is plain. Skipped without ``cryptography``.
    """
    if not HAS_CRYPTOGRAPHY:
        return
    try:
        with open(path, "rb") as handle:
            certificate = x509.load_pem_x509_certificate(handle.read())
    except (IOError, OSError) as exc:
        raise OvhConfigurationError("client_cert: cannot read %s: %s" % (path, exc.strerror or exc))
    except ValueError:
        raise OvhConfigurationError("client_cert: %s holds no PEM certificate" % path)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    not_before, not_after = _validity(certificate)
    if now > not_after:
        raise OvhConfigurationError(
            "client_cert: %s expired on %s (this machine's time is %s): renew it; the ovhcloud.kms.okms role "
            "replaces certificates before they expire" % (path, _utc(not_after), _utc(now)))
    if now < not_before:
        raise OvhConfigurationError(
            "client_cert: %s is valid only from %s, and this machine's time is %s: is its clock right?"
            % (path, _utc(not_before), _utc(now)))


def _validity(certificate):
    try:
        return certificate.not_valid_before_utc, certificate.not_valid_after_utc
    except AttributeError:  # cryptography < 42
        utc = datetime.timezone.utc
        return certificate.not_valid_before.replace(tzinfo=utc), certificate.not_valid_after.replace(tzinfo=utc)


def _utc(moment):
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


# -- resolution ------------------------------------------------------------------------

def resolve_data_plane(params, oauth2_available=None, read_text=None, read_bytes=None):
    """Settle endpoint, KMS id and identity from the task's options and ``config_file``.

    ``params`` holds the DATA_PLANE_ARGUMENT_SPEC options plus ``ca_path``,
    ``client_id`` and ``client_secret``. ``oauth2_available()`` says whether
    an OAuth2 service account is configured elsewhere (OVH_* variables,
    ovh.conf); it is asked only when nothing else gives an identity.
    ``rest_endpoint`` may come out None: the caller then reads it from the
    KMS through the OVHcloud API.
    """
    sources = {}
    restapi = {}
    config_path = params.get("config_file")
    profile = None
    if config_path:
        restapi, profile = config_profile(read_config_file(config_path, read_text), config_path,
                                          params.get("profile"))
    elif params.get("profile"):
        raise OvhConfigurationError("profile %r was given without config_file: a profile names a section of "
                                    "an okms-cli configuration file" % params["profile"])
    in_file = "profile %r of %s" % (profile, config_path)

    def pick(option, value_in_file, convert=None):
        if params.get(option):
            sources[option] = "option %s" % option
            return params[option]
        if value_in_file not in (None, ""):
            sources[option] = in_file
            return convert(value_in_file, config_path) if convert else value_in_file
        return None

    file_auth = restapi.get("auth") if isinstance(restapi.get("auth"), dict) else {}
    file_type = file_auth.get("type")
    if file_type not in (None, "mtls", "token"):
        raise OvhConfigurationError("config_file: %s has restapi.auth.type %r; mtls and token are supported"
                                    % (in_file, file_type))

    rest_endpoint = pick("rest_endpoint", restapi.get("endpoint"))
    ca_path = pick("ca_path", restapi.get("ca"), _file_path)

    # A certificate or a token, from the options or the file, wins over an OAuth2 service account: play-level
    # module_defaults often carry client_id/client_secret for the OVHcloud API, and must not replace the
    # host's own certificate.
    given_cert = bool(params.get("client_cert") or params.get("client_key"))
    given_token = bool(params.get("token"))
    if given_cert and given_token:
        raise OvhConfigurationError("authenticate to the KMS REST API one way only: client_cert/client_key and "
                                    "token were both given")
    client_cert = client_key = token = None
    if given_cert or (not given_token and file_type == "mtls"):
        auth = "mtls"
        client_cert = pick("client_cert", file_auth.get("cert") if not given_cert else None, _file_path)
        client_key = pick("client_key", file_auth.get("key") if not given_cert else None, _file_path)
        if not client_cert or not client_key:
            missing = "client_key" if client_cert else "client_cert"
            raise OvhConfigurationError("%s is required with client_%s: mutual TLS needs both the certificate and "
                                        "its private key" % (missing, "cert" if client_cert else "key"))
    elif given_token or file_type == "token":
        auth = "token"
        token = pick("token", file_auth.get("token") if not given_token else None)
        if not token:
            raise OvhConfigurationError("config_file: %s has restapi.auth.type token but no restapi.auth.token"
                                        % in_file)
    elif params.get("client_id") or params.get("client_secret") or (
            oauth2_available is not None and oauth2_available()):
        auth = "oauth2"
    else:
        raise OvhConfigurationError(
            "no identity for the KMS REST API: give config_file (the okms.yaml the ovhcloud.kms.okms role deploys), "
            "client_cert and client_key (mutual TLS), token, or an OAuth2 service account (client_id and "
            "client_secret, or OVH_CLIENT_ID and OVH_CLIENT_SECRET); application-key credentials do not work "
            "on the KMS REST API")

    # okms-cli reads restapi.auth.okmsId (needed with a token; with a certificate, its SAN wins there).
    okms_id = pick("okms_id", file_auth.get("okmsId"))
    if not okms_id and auth == "mtls":
        okms_id = okms_id_from_certificate(client_cert, read_bytes)
        if okms_id:
            sources["okms_id"] = "the SAN of %s" % client_cert
    if not okms_id:
        raise OvhConfigurationError(
            "okms_id is required: %s" % ("the certificate %s names no KMS (no okms.domain SAN)" % client_cert
                                         if auth == "mtls" else "token and OAuth2 authentication do not name the KMS"))
    if not _UUID.match(str(okms_id)):
        raise OvhConfigurationError("%s must be a KMS id (a UUID), got %r" % (
            DataPlaneSettings(None, None, None, sources=sources).describe("okms_id"), okms_id))
    if rest_endpoint is not None and not str(rest_endpoint).startswith("https://"):
        raise OvhConfigurationError("%s must be an https:// URL, got %r" % (
            DataPlaneSettings(None, None, None, sources=sources).describe("rest_endpoint"), rest_endpoint))
    return DataPlaneSettings(rest_endpoint, str(okms_id), auth, client_cert=client_cert, client_key=client_key,
                             token=token, ca_path=ca_path, sources=sources)
