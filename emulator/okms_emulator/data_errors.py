"""Data-plane errors: ``{error_code, error_id, errors, request_id}`` (okms-rest-api-2.14.yaml).

``error_code`` follows okms-sdk-go's layout, ``major<<24 | minor<<16 |
category<<12 | code``. Service keys use major 3 (REST), minor 3; secrets use
major 1, minor 5, the domain of the one code published for them (17125377,
an unknown secret: category 5 NotFound, code 1).
"""

import uuid

SERVICE_KEYS = (3, 3)
SECRETS = (1, 5)
_CATEGORY = {400: 2, 401: 3, 403: 4, 404: 5, 405: 2, 409: 2, 500: 1}


class DataPlaneError(Exception):
    def __init__(self, status, message, app_code=1, domain=SERVICE_KEYS):
        super().__init__(message)
        self.status = status
        self.message = message
        self.app_code = app_code
        self.domain = domain


def error_code(status, app_code=1, domain=SERVICE_KEYS):
    major, minor = domain
    return (major << 24) | (minor << 16) | (_CATEGORY.get(status, 2) << 12) | (app_code & 0xFFF)


def error_body(status, message, app_code=1, domain=SERVICE_KEYS):
    return {"error_code": error_code(status, app_code, domain), "error_id": str(uuid.uuid4()),
            "errors": [message], "request_id": str(uuid.uuid4())}
