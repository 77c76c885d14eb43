"""KMIP 1.0-1.4 requests: decoded and encoded with PyKMIP's TTLV codec, answered by the emulator.

PyKMIP serves as a codec only (``kmip.core``: messages, payloads, objects,
attributes, enums). The objects, their life cycle and their cryptography are
the emulator's own (``kmip_objects.py``), kept with each KMS in state.json;
rights are IAM's (``okms:kmip:<action>``, ``data_rights.py``). This module is
imported on the first KMIP connection only: PyKMIP is optional.

The codec limits what the emulator can read and write: attributes PyKMIP
cannot encode (Link, Revocation Reason, Cryptographic Domain Parameters, the
Transparent key structures) are neither accepted nor returned.
"""

import time
import traceback
from dataclasses import dataclass, field

from kmip.core import attributes as kattributes
from kmip.core import enums, objects, utils
from kmip.core.factories.attribute_values import AttributeValueFactory
from kmip.core.factories.secrets import SecretFactory
from kmip.core.messages import contents, messages, payloads

from . import data_rights
from . import kmip_objects as ko
from .kmip_objects import KmipError

ACTION_PREFIX = "okms:kmip:"
VERSIONS = ((1, 4), (1, 3), (1, 2), (1, 1), (1, 0))
VENDOR = "OVHcloud OKMS emulator"
CODEC_VERSION = enums.KMIPVersion.KMIP_1_4  # 1.x encodings only differ by what a version may carry

# Attributes only the server sets: a template that names one is refused.
_SERVER_ATTRIBUTES = {"Unique Identifier", "State", ko.INITIAL, ko.ACTIVATION, ko.DEACTIVATION, ko.DESTROY,
                      ko.COMPROMISE, ko.COMPROMISE_OCCURRENCE, ko.LAST_CHANGE, ko.ORIGINAL_CREATION,
                      "Digest", "Revocation Reason", "Link", "Lease Time", "Fresh"}
_DATES = {ko.INITIAL: enums.AttributeType.INITIAL_DATE, ko.ACTIVATION: enums.AttributeType.ACTIVATION_DATE,
          ko.DEACTIVATION: enums.AttributeType.DEACTIVATION_DATE, ko.DESTROY: enums.AttributeType.DESTROY_DATE,
          ko.COMPROMISE: enums.AttributeType.COMPROMISE_DATE,
          ko.COMPROMISE_OCCURRENCE: enums.AttributeType.COMPROMISE_OCCURRENCE_DATE,
          ko.LAST_CHANGE: enums.AttributeType.LAST_CHANGE_DATE,
          ko.ORIGINAL_CREATION: enums.AttributeType.ORIGINAL_CREATION_DATE}
_KEY_OBJECTS = ("SYMMETRIC_KEY", "PUBLIC_KEY", "PRIVATE_KEY", "SECRET_DATA")


def operation_name(operation):
    """``CREATE_KEY_PAIR`` -> ``CreateKeyPair`` (the audit's method)."""
    return ko.title(operation.name)


def _text(value):
    """The Python value of a PyKMIP primitive (or the value itself)."""
    return getattr(value, "value", value)


@dataclass
class Item:
    """What the audit log records of one batch item."""

    operation: str
    uid: str = None
    reason: str = None   # None: success


@dataclass
class _Context:
    record: dict
    caller: object
    version: tuple
    placeholder: str = None
    changed: bool = False
    audit: list = field(default_factory=list)


@dataclass
class _Template:
    algorithm: str = None
    length: int = None
    usage_mask: int = None
    names: list = field(default_factory=list)
    other: list = field(default_factory=list)


class KmipEngine:
    """Answers the KMIP messages of every KMS in the store."""

    def __init__(self, store):
        self.store = store
        self.values = AttributeValueFactory()
        self.handlers = {
            enums.Operation.DISCOVER_VERSIONS: ((1, 1), self.discover_versions),
            enums.Operation.QUERY: ((1, 0), self.query),
            enums.Operation.CREATE: ((1, 0), self.create),
            enums.Operation.CREATE_KEY_PAIR: ((1, 0), self.create_key_pair),
            enums.Operation.REGISTER: ((1, 0), self.register),
            enums.Operation.GET: ((1, 0), self.get),
            enums.Operation.GET_ATTRIBUTES: ((1, 0), self.get_attributes),
            enums.Operation.GET_ATTRIBUTE_LIST: ((1, 0), self.get_attribute_list),
            enums.Operation.LOCATE: ((1, 0), self.locate),
            enums.Operation.ACTIVATE: ((1, 0), self.activate),
            enums.Operation.REVOKE: ((1, 0), self.revoke),
            enums.Operation.DESTROY: ((1, 0), self.destroy),
            enums.Operation.ENCRYPT: ((1, 2), self.encrypt),
            enums.Operation.DECRYPT: ((1, 2), self.decrypt),
            enums.Operation.SIGN: ((1, 2), self.sign),
            enums.Operation.SIGNATURE_VERIFY: ((1, 2), self.signature_verify),
        }

    # --- messages ------------------------------------------------------------------------

    def process(self, raw, okms_id, caller, refused=None):
        """Answer one request message: (response bytes, [Item] for the audit log).

        ``caller`` is the data_rights.Caller of the client certificate; ``refused`` the reason
        it was not accepted (revoked, expired...), which every operation then gets.
        """
        request = messages.RequestMessage()
        try:
            request.read(utils.BytearrayStream(raw), kmip_version=CODEC_VERSION)
        except Exception as exc:  # noqa: BLE001 - the codec raises anything on bad input
            return self._failure((1, 0), None, "INVALID_MESSAGE", f"cannot decode the request message: {exc}")
        header = request.request_header
        version = (header.protocol_version.major, header.protocol_version.minor)
        first = request.batch_items[0].operation.value if request.batch_items else None
        if version not in VERSIONS:
            supported = ", ".join(f"{a}.{b}" for a, b in VERSIONS)
            return self._failure(VERSIONS[0], first, "INVALID_MESSAGE",
                                 f"KMIP {version[0]}.{version[1]} is not supported: {supported}")
        if refused is not None:
            return self._failure(version, first, "AUTHENTICATION_NOT_SUCCESSFUL", refused)
        if header.asynchronous_indicator is not None and header.asynchronous_indicator.value:
            return self._failure(version, first, "INVALID_MESSAGE", "asynchronous operations are not supported")
        option = header.batch_error_cont_option.value if header.batch_error_cont_option is not None else \
            enums.BatchErrorContinuationOption.STOP
        if option == enums.BatchErrorContinuationOption.UNDO:
            return self._failure(version, first, "INVALID_MESSAGE", "the Undo batch error option is not supported")

        with self.store.lock:
            record = self.store.data["okms"].get(okms_id)
            if record is None:
                return self._failure(version, first, "AUTHENTICATION_NOT_SUCCESSFUL", f"KMS {okms_id} is gone")
            ctx = _Context(record, caller, version)
            items = []
            for batch_item in request.batch_items:
                response_item = self._item(ctx, batch_item)
                items.append(response_item)
                if response_item.result_status.value != enums.ResultStatus.SUCCESS and \
                        option == enums.BatchErrorContinuationOption.STOP:
                    break
            if ctx.changed:
                self.store.save()
        return self._encode(version, items), ctx.audit

    def _item(self, ctx, batch_item):
        operation = batch_item.operation.value
        name = operation_name(operation)
        entry = Item(name)
        ctx.audit.append(entry)
        payload, reason, message = None, None, None
        minimum, handler = self.handlers.get(operation, (None, None))
        try:
            if handler is None:
                raise KmipError("OPERATION_NOT_SUPPORTED", f"{name} is not supported by the emulator; "
                                                           f"{', '.join(sorted(self._operation_names()))} are")
            if ctx.version < minimum:
                raise KmipError("OPERATION_NOT_SUPPORTED", f"{name} needs KMIP {minimum[0]}.{minimum[1]} or later "
                                                           f"(the request is {ctx.version[0]}.{ctx.version[1]})")
            payload = handler(ctx, batch_item.request_payload, entry)
        except KmipError as exc:
            reason, message = exc.reason, exc.message
        except Exception as exc:  # noqa: BLE001 - report, never kill the connection
            traceback.print_exc()
            reason, message = "GENERAL_FAILURE", f"internal error: {exc}"
        entry.reason = reason
        return messages.ResponseBatchItem(
            operation=batch_item.operation, unique_batch_item_id=batch_item.unique_batch_item_id,
            result_status=contents.ResultStatus(enums.ResultStatus.OPERATION_FAILED if reason
                                                else enums.ResultStatus.SUCCESS),
            result_reason=contents.ResultReason(enums.ResultReason[reason]) if reason else None,
            result_message=contents.ResultMessage(message) if message else None,
            response_payload=payload)

    def _operation_names(self):
        return [operation_name(op) for op in self.handlers]

    def _failure(self, version, operation, reason, message):
        item = messages.ResponseBatchItem(
            operation=contents.Operation(operation) if operation else None,
            result_status=contents.ResultStatus(enums.ResultStatus.OPERATION_FAILED),
            result_reason=contents.ResultReason(enums.ResultReason[reason]),
            result_message=contents.ResultMessage(message))
        return self._encode(version, [item]), [Item(operation_name(operation) if operation else None,
                                                    reason=reason)]

    @staticmethod
    def _encode(version, items):
        header = messages.ResponseHeader(
            protocol_version=contents.ProtocolVersion(*version), time_stamp=contents.TimeStamp(int(time.time())),
            batch_count=contents.BatchCount(len(items)))
        stream = utils.BytearrayStream()
        messages.ResponseMessage(response_header=header, batch_items=items).write(
            stream, kmip_version=enums.KMIPVersion[f"KMIP_{version[0]}_{version[1]}"])
        return bytes(stream.buffer)

    # --- shared steps ------------------------------------------------------------------

    def _allow(self, ctx, action, uid=None):
        """Refuse (Permission Denied) what the caller's identities may not do: before any lookup."""
        target = data_rights.KMS if uid is None else data_rights.kmip_object(uid)
        message = data_rights.refusal(self.store, ctx.caller, ACTION_PREFIX + action, ctx.record, target)
        if message is not None:
            raise KmipError("PERMISSION_DENIED", message)

    @staticmethod
    def _uid(ctx, value):
        uid = _text(value)
        if not uid:
            if ctx.placeholder is None:
                raise KmipError("MISSING_DATA", "no Unique Identifier, and no earlier item of the batch made one")
            return ctx.placeholder
        return uid

    def _object(self, ctx, value, action, entry):
        """The object a request names, once the caller's right to ``action`` on it is checked."""
        uid = self._uid(ctx, value)
        entry.uid = uid
        self._allow(ctx, action, uid)
        return ko.find(ctx.record, uid)

    def _template(self, template_attribute, object_type):
        """The attributes of a Create/Register template: those the engine models, and the others as sent."""
        template = _Template()
        if template_attribute is None:
            return template
        if template_attribute.names:
            raise KmipError("INVALID_FIELD", "templates (Template-Attribute names) are not supported")
        for attribute in template_attribute.attributes:
            name, value = attribute.attribute_name.value, attribute.attribute_value
            if name in _SERVER_ATTRIBUTES:
                raise KmipError("INVALID_FIELD", f"the server sets {name}: a template may not")
            if name == "Object Type":
                if value.value.name != object_type:
                    raise KmipError("INVALID_FIELD", f"Object Type {value.value.name} does not match {object_type}")
            elif name == "Cryptographic Algorithm":
                template.algorithm = value.value.name
            elif name == "Cryptographic Length":
                template.length = value.value
            elif name == "Cryptographic Usage Mask":
                template.usage_mask = value.value
            elif name == "Name":
                template.names.append({"value": value.name_value.value, "type": value.name_type.value.name})
            else:
                stream = utils.BytearrayStream()
                attribute.write(stream, kmip_version=CODEC_VERSION)
                template.other.append(bytes(stream.buffer).hex())
        return template

    @staticmethod
    def _decoded(hex_attribute):
        attribute = objects.Attribute()
        attribute.read(utils.BytearrayStream(bytes.fromhex(hex_attribute)), kmip_version=CODEC_VERSION)
        return attribute

    def _attributes(self, ctx, obj):
        """[(name, Attribute)] of ``obj``, as Get Attributes returns them."""
        out = []

        def add(kind, value, index=None, name=None):
            attribute_value = self.values.create_attribute_value(kind, value)
            out.append((name or kind.value, objects.Attribute(
                attribute_name=objects.Attribute.AttributeName(name or kind.value),
                attribute_index=objects.Attribute.AttributeIndex(index) if index is not None else None,
                attribute_value=attribute_value)))

        add(enums.AttributeType.UNIQUE_IDENTIFIER, obj["id"])
        add(enums.AttributeType.OBJECT_TYPE, enums.ObjectType[obj["objectType"]])
        if obj["algorithm"]:
            add(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM, enums.CryptographicAlgorithm[obj["algorithm"]])
        if obj["length"]:
            add(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, obj["length"])
        if obj["usageMask"] is not None:
            out.append(("Cryptographic Usage Mask", objects.Attribute(
                attribute_name=objects.Attribute.AttributeName("Cryptographic Usage Mask"),
                attribute_value=kattributes.CryptographicUsageMask(obj["usageMask"]))))
        for index, name in enumerate(obj["names"]):
            value = kattributes.Name.create(name["value"], enums.NameType[name["type"]])
            out.append(("Name", objects.Attribute(
                attribute_name=objects.Attribute.AttributeName("Name"),
                attribute_index=objects.Attribute.AttributeIndex(index), attribute_value=value)))
        add(enums.AttributeType.STATE, enums.State[obj["state"]])
        if obj["certificateType"]:
            add(enums.AttributeType.CERTIFICATE_TYPE, enums.CertificateType[obj["certificateType"]])
        for date, kind in _DATES.items():
            if date in obj["dates"] and (date != ko.ORIGINAL_CREATION or ctx.version >= (1, 2)):
                add(kind, obj["dates"][date])
        for hex_attribute in obj["other"]:
            attribute = self._decoded(hex_attribute)
            out.append((attribute.attribute_name.value, attribute))
        return out

    @staticmethod
    def _parameters(cryptographic_parameters):
        """The Cryptographic Parameters as kmip_objects reads them: enumeration names, numbers."""
        if cryptographic_parameters is None:
            return {}
        params = {}
        for name in ("block_cipher_mode", "padding_method", "hashing_algorithm", "digital_signature_algorithm",
                     "cryptographic_algorithm"):
            value = getattr(cryptographic_parameters, name)
            if value is not None:
                params[name] = value.name
        for name in ("random_iv", "iv_length", "tag_length"):
            value = getattr(cryptographic_parameters, name)
            if value is not None:
                params[name] = value
        return params

    def _new(self, ctx, entry, object_type, description, template, **kind):
        obj = ko.new_object(ctx.record, object_type, description["raw"], description["format"],
                            description["algorithm"], description["length"], description["curve"],
                            names=template.names, usage_mask=template.usage_mask, other=template.other, **kind)
        ctx.changed = True
        ctx.placeholder = entry.uid = obj["id"]
        return obj

    # --- operations ---------------------------------------------------------------------

    def discover_versions(self, ctx, payload, entry):
        wanted = [(v.major, v.minor) for v in payload.protocol_versions]
        chosen = [v for v in VERSIONS if not wanted or v in wanted]
        if wanted:
            chosen.sort(key=wanted.index)
        return payloads.DiscoverVersionsResponsePayload(
            protocol_versions=[contents.ProtocolVersion(*v) for v in chosen])

    def query(self, ctx, payload, entry):
        self._allow(ctx, "query")
        functions = payload.query_functions or []
        response = payloads.QueryResponsePayload()
        if enums.QueryFunction.QUERY_OPERATIONS in functions:
            response.operations = [op for op, (minimum, _) in self.handlers.items() if ctx.version >= minimum]
        if enums.QueryFunction.QUERY_OBJECTS in functions:
            response.object_types = [enums.ObjectType[t] for t in
                                     ("SYMMETRIC_KEY", "PUBLIC_KEY", "PRIVATE_KEY", "CERTIFICATE", "SECRET_DATA",
                                      "OPAQUE_DATA")]
        if enums.QueryFunction.QUERY_SERVER_INFORMATION in functions:
            response.vendor_identification = VENDOR
        return response

    def create(self, ctx, payload, entry):
        object_type = payload.object_type.name if payload.object_type else None
        if object_type != "SYMMETRIC_KEY":
            raise KmipError("INVALID_FIELD", f"Create makes symmetric keys, not {object_type}: use Create Key "
                                             "Pair for key pairs, Register for the rest")
        self._allow(ctx, "create")
        template = self._template(payload.template_attribute, object_type)
        if template.algorithm is None or template.length is None:
            raise KmipError("INVALID_FIELD", "Create needs a Cryptographic Algorithm (AES) and a Cryptographic "
                                             "Length (128, 192 or 256)")
        raw = ko.symmetric_key(template.algorithm, template.length)
        obj = self._new(ctx, entry, object_type, {"raw": raw, "format": "RAW", "algorithm": template.algorithm,
                                                  "length": template.length, "curve": None}, template)
        return payloads.CreateResponsePayload(object_type=enums.ObjectType.SYMMETRIC_KEY,
                                              unique_identifier=obj["id"])

    def create_key_pair(self, ctx, payload, entry):
        self._allow(ctx, "createKeyPair")
        common = self._template(payload.common_template_attribute, "PRIVATE_KEY")
        private = self._template(payload.private_key_template_attribute, "PRIVATE_KEY")
        public = self._template(payload.public_key_template_attribute, "PUBLIC_KEY")
        algorithm = private.algorithm or public.algorithm or common.algorithm
        length = private.length or public.length or common.length
        if algorithm is None or length is None:
            raise KmipError("INVALID_FIELD", "Create Key Pair needs a Cryptographic Algorithm (RSA, EC, ECDSA) and "
                                             "a Cryptographic Length")
        private_description, public_description = ko.key_pair(algorithm, length)
        made = {}
        for kind, description, own in (("PUBLIC_KEY", public_description, public),
                                       ("PRIVATE_KEY", private_description, private)):
            template = _Template(usage_mask=own.usage_mask if own.usage_mask is not None else common.usage_mask,
                                 names=own.names or common.names, other=common.other + own.other)
            made[kind] = self._new(ctx, entry, kind, description, template)
        entry.uid = made["PRIVATE_KEY"]["id"]
        return payloads.CreateKeyPairResponsePayload(
            private_key_unique_identifier=made["PRIVATE_KEY"]["id"],
            public_key_unique_identifier=made["PUBLIC_KEY"]["id"])

    def register(self, ctx, payload, entry):
        object_type = payload.object_type.name if payload.object_type else None
        self._allow(ctx, "register")
        template = self._template(payload.template_attribute, object_type)
        managed = payload.managed_object
        kind = {}
        if object_type in _KEY_OBJECTS:
            block = managed.key_block
            if block.key_wrapping_data is not None:
                raise KmipError("FEATURE_NOT_SUPPORTED", "wrapped keys are not supported")
            raw = block.key_value.key_material.value
            key_format = block.key_format_type.value.name
            algorithm = block.cryptographic_algorithm.value.name if block.cryptographic_algorithm else None
            length = block.cryptographic_length.value if block.cryptographic_length else None
            if object_type == "SECRET_DATA":
                kind["secret_data_type"] = managed.secret_data_type.value.name
        elif object_type == "CERTIFICATE":
            raw, key_format, algorithm, length = managed.certificate_value.value, None, None, None
            kind["certificate_type"] = managed.certificate_type.value.name
        elif object_type == "OPAQUE_DATA":
            raw, key_format, algorithm, length = managed.opaque_data_value.value, None, None, None
            kind["opaque_type"] = managed.opaque_data_type.value.value
        else:
            raise KmipError("INVALID_FIELD", f"{object_type} objects are not supported: Register takes symmetric "
                                             "keys, public and private keys, certificates, secret data and opaque "
                                             "objects")
        if template.algorithm and algorithm and template.algorithm != algorithm:
            raise KmipError("INVALID_FIELD", f"Cryptographic Algorithm {template.algorithm} in the template does not "
                                             f"match {algorithm} in the key block")
        description = ko.registered(object_type, raw, key_format, algorithm or template.algorithm,
                                    length or template.length)
        obj = self._new(ctx, entry, object_type, description, template, **kind)
        return payloads.RegisterResponsePayload(unique_identifier=obj["id"])

    def get(self, ctx, payload, entry):
        obj = self._object(ctx, payload.unique_identifier, "get", entry)
        ko.readable(obj)
        if payload.key_compression_type is not None:
            raise KmipError("KEY_COMPRESSION_TYPE_NOT_SUPPORTED", "key compression is not supported")
        if payload.key_wrapping_specification is not None:
            raise KmipError("FEATURE_NOT_SUPPORTED", "key wrapping is not supported")
        wanted = payload.key_format_type.name if payload.key_format_type is not None else None
        kind = obj["objectType"]
        if kind in ("CERTIFICATE", "OPAQUE_DATA") and wanted is not None:
            raise KmipError("KEY_FORMAT_TYPE_NOT_SUPPORTED", f"a {kind} has no Key Format Type")
        raw = ko.exported(obj, wanted)
        if kind == "CERTIFICATE":
            value = {"certificate_type": enums.CertificateType[obj["certificateType"]], "certificate_value": raw}
        elif kind == "OPAQUE_DATA":
            value = {"opaque_data_type": enums.OpaqueDataType(obj["opaqueType"]), "opaque_data_value": raw}
        else:
            value = {"key_format_type": enums.KeyFormatType[wanted or obj["format"]], "key_value": raw,
                     "cryptographic_algorithm": enums.CryptographicAlgorithm[obj["algorithm"]]
                     if obj["algorithm"] else None,
                     "cryptographic_length": obj["length"]}
            if kind == "SECRET_DATA":
                value["secret_data_type"] = enums.SecretDataType[obj["secretDataType"]]
        secret = SecretFactory().create(enums.ObjectType[kind], value)
        return payloads.GetResponsePayload(object_type=enums.ObjectType[kind], unique_identifier=obj["id"],
                                           secret=secret)

    def get_attributes(self, ctx, payload, entry):
        obj = self._object(ctx, payload.unique_identifier, "getAttributes", entry)
        wanted = set(payload.attribute_names or ())
        chosen = [attribute for name, attribute in self._attributes(ctx, obj) if not wanted or name in wanted]
        return payloads.GetAttributesResponsePayload(unique_identifier=obj["id"], attributes=chosen)

    def get_attribute_list(self, ctx, payload, entry):
        obj = self._object(ctx, payload.unique_identifier, "getAttributeList", entry)
        names = list(dict.fromkeys(name for name, _ in self._attributes(ctx, obj)))
        return payloads.GetAttributeListResponsePayload(unique_identifier=obj["id"], attribute_names=names)

    def locate(self, ctx, payload, entry):
        tests = [self._locate_test(attribute) for attribute in payload.attributes or ()]

        def allowed(obj):  # objects the caller may not locate are left out, like REST lists
            return data_rights.refusal(self.store, ctx.caller, ACTION_PREFIX + "locate", ctx.record,
                                       data_rights.kmip_object(obj["id"])) is None

        found = ko.locate(ctx.record, lambda obj: all(test(obj) for test in tests) and allowed(obj))
        total = len(found)
        offset = payload.offset_items or 0
        found = found[offset:]
        if payload.maximum_items:
            found = found[:payload.maximum_items]
        if found:
            ctx.placeholder = found[0]
        return payloads.LocateResponsePayload(located_items=total if ctx.version >= (1, 3) else None,
                                              unique_identifiers=found)

    def _locate_test(self, attribute):
        name, value = attribute.attribute_name.value, attribute.attribute_value
        if name == "Object Type":
            return lambda obj, want=value.value.name: obj["objectType"] == want
        if name == "State":
            return lambda obj, want=value.value.name: obj["state"] == want
        if name == "Name":
            return lambda obj, want=value.name_value.value: any(n["value"] == want for n in obj["names"])
        if name == "Cryptographic Algorithm":
            return lambda obj, want=value.value.name: obj["algorithm"] == want
        if name == "Cryptographic Length":
            return lambda obj, want=value.value: obj["length"] == want
        if name == "Cryptographic Usage Mask":
            return lambda obj, want=value.value: (obj["usageMask"] or 0) & want == want
        if name == "Certificate Type":
            return lambda obj, want=value.value.name: obj["certificateType"] == want
        if name in _SERVER_ATTRIBUTES:
            raise KmipError("INVALID_FIELD", f"Locate by {name} is not supported (Object Type, State, Name, "
                                             "Cryptographic Algorithm/Length/Usage Mask, Certificate Type, and "
                                             "the attributes a client set)")
        return lambda obj: any(other.attribute_name.value == name and other.attribute_value == value
                               for other in map(self._decoded, obj["other"]))

    def activate(self, ctx, payload, entry):
        obj = self._object(ctx, payload.unique_identifier, "activate", entry)
        ko.activate(obj)
        ctx.changed = True
        return payloads.ActivateResponsePayload(unique_identifier=kattributes.UniqueIdentifier(obj["id"]))

    def revoke(self, ctx, payload, entry):
        obj = self._object(ctx, payload.unique_identifier, "revoke", entry)
        reason = payload.revocation_reason
        code = reason.revocation_code.value.name if reason and reason.revocation_code.value else "UNSPECIFIED"
        message = reason.revocation_message.value if reason and reason.revocation_message else None
        occurred = payload.compromise_occurrence_date.value if payload.compromise_occurrence_date else None
        ko.revoke(obj, code, message, occurred)
        ctx.changed = True
        return payloads.RevokeResponsePayload(unique_identifier=kattributes.UniqueIdentifier(obj["id"]))

    def destroy(self, ctx, payload, entry):
        obj = self._object(ctx, payload.unique_identifier, "destroy", entry)
        ko.destroy(obj)
        ctx.changed = True
        return payloads.DestroyResponsePayload(unique_identifier=kattributes.UniqueIdentifier(obj["id"]))

    def encrypt(self, ctx, payload, entry):
        obj = self._object(ctx, payload.unique_identifier, "encrypt", entry)
        if payload.data is None:
            raise KmipError("MISSING_DATA", "Encrypt needs Data")
        data, iv, tag = ko.encrypt(obj, self._parameters(payload.cryptographic_parameters), payload.data,
                                   payload.iv_counter_nonce, payload.auth_additional_data)
        if tag is not None and ctx.version < (1, 4):
            data, tag = data + tag, None  # before 1.4 a message has no Authenticated Encryption Tag
        return payloads.EncryptResponsePayload(unique_identifier=obj["id"], data=data, iv_counter_nonce=iv,
                                               auth_tag=tag)

    def decrypt(self, ctx, payload, entry):
        obj = self._object(ctx, payload.unique_identifier, "decrypt", entry)
        if payload.data is None:
            raise KmipError("MISSING_DATA", "Decrypt needs Data")
        data = ko.decrypt(obj, self._parameters(payload.cryptographic_parameters), payload.data,
                          payload.iv_counter_nonce, payload.auth_additional_data, payload.auth_tag)
        return payloads.DecryptResponsePayload(unique_identifier=obj["id"], data=data)

    def sign(self, ctx, payload, entry):
        obj = self._object(ctx, payload.unique_identifier, "sign", entry)
        if payload.data is None:
            raise KmipError("MISSING_DATA", "Sign needs Data")
        signature = ko.sign(obj, self._parameters(payload.cryptographic_parameters), payload.data)
        return payloads.SignResponsePayload(unique_identifier=obj["id"], signature_data=signature)

    def signature_verify(self, ctx, payload, entry):
        obj = self._object(ctx, payload.unique_identifier, "signatureVerify", entry)
        if payload.correlation_value or payload.init_indicator or payload.final_indicator:
            raise KmipError("FEATURE_NOT_SUPPORTED", "streaming Signature Verify is not supported")
        if payload.signature_data is None:
            raise KmipError("MISSING_DATA", "Signature Verify needs Signature Data")
        valid = ko.verify(obj, self._parameters(payload.cryptographic_parameters), payload.signature_data,
                          payload.data, payload.digested_data)
        return payloads.SignatureVerifyResponsePayload(
            unique_identifier=obj["id"],
            validity_indicator=enums.ValidityIndicator.VALID if valid else enums.ValidityIndicator.INVALID)

