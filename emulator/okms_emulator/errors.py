"""Control-plane errors, shaped like OVHcloud's: ``{"class", "message", "details"?}``.

Handlers raise :class:`ApiError`; the HTTP layer turns it into a response.
Authentication failures also carry the legacy ``errorCode``/``httpCode``
members that python-ovh dispatches on (see auth.py).
"""

from http import HTTPStatus


class ApiError(Exception):
    def __init__(self, status, error_class, message, details=None, extra=None, headers=None):
        super().__init__(message)
        self.status = status
        self.error_class = error_class
        self.message = message
        self.details = details
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self):
        out = {"class": self.error_class, "message": self.message}
        if self.details is not None:
            out["details"] = self.details
        out.update(self.extra)
        return out


def http_code(status):
    """``"400 Bad Request"`` style string used in OVHcloud auth errors."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def bad_request(message, error_class="Client::BadRequest", details=None):
    return ApiError(400, error_class, message, details)


def not_found(message="The requested object does not exist"):
    return ApiError(404, "Client::NotFound", message)
