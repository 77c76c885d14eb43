"""Router: one table shape for both planes, each rendering its own 404/405."""

import pytest

from okms_emulator import data_plane
from okms_emulator.errors import ApiError
from okms_emulator.routing import Router


def handler(req, **params):
    return params


def test_captures_and_several_methods():
    router = Router()
    router.add(("GET", "HEAD"), "/v2/okms/resource/{okmsId}", handler)
    router.add("POST", "/v2/okms/resource/{okmsId}/credential", handler, auth=False)
    for method in ("GET", "HEAD"):
        found, params, auth = router.match(method, "/v2/okms/resource/abc")
        assert found is handler and params == {"okmsId": "abc"} and auth is True
    assert router.match("POST", "/v2/okms/resource/abc/credential")[1:] == ({"okmsId": "abc"}, False)


def test_control_plane_errors_by_default():
    router = Router()
    router.add(("GET", "PUT"), "/v2/okms/resource/{okmsId}", handler)
    with pytest.raises(ApiError) as missing:
        router.match("GET", "/v2/okms/resource/abc/nothing")
    assert (missing.value.status, missing.value.error_class) == (404, "Client::NotFound")
    with pytest.raises(ApiError) as wrong:
        router.match("DELETE", "/v2/okms/resource/abc")
    assert (wrong.value.status, wrong.value.error_class) == (405, "Client::MethodNotAllowed")


def test_data_plane_renders_its_own_errors():
    router = data_plane.DataPlane(store=None).router
    with pytest.raises(data_plane.DataPlaneError) as missing:
        router.match("GET", "/api/abc/v1/nothing")
    assert missing.value.status == 404 and "/api/abc/v1/nothing" in missing.value.message
    with pytest.raises(data_plane.DataPlaneError) as wrong:
        router.match("PUT", "/api/abc/v1/servicekey")
    assert wrong.value.status == 405
    assert wrong.value.message == "method PUT is not allowed here (use GET or POST)"


def test_rest_of_path_capture_and_the_first_pattern_claims_the_path():
    router = Router()
    router.add("GET", "/s/{path+}/version/{version}", handler)
    router.add(("GET", "POST"), "/s/{path+}/version", handler)
    router.add(("GET", "PUT", "DELETE"), "/s/{path+}", handler)
    router.add("LIST", "/m/{path+}", handler)
    assert router.match("GET", "/s/a/b/c")[1] == {"path": "a/b/c"}
    assert router.match("GET", "/s/a%2Fb")[1] == {"path": "a%2Fb"}
    assert router.match("GET", "/s/a/b/version")[1] == {"path": "a/b"}
    assert router.match("GET", "/s/a/b/version/3")[1] == {"path": "a/b", "version": "3"}
    assert router.match("LIST", "/m/a/b")[1] == {"path": "a/b"}
    # "/s/a/version" belongs to the version list: PUT there is 405, never an update of "a/version".
    with pytest.raises(ApiError) as wrong:
        router.match("PUT", "/s/a/version")
    assert wrong.value.status == 405 and wrong.value.message == "Method PUT not allowed on /s/a/version"
    with pytest.raises(ApiError) as wrong:
        router.match("DELETE", "/s/a/version/3")
    assert wrong.value.status == 405
    with pytest.raises(ApiError) as missing:
        router.match("GET", "/s")
    assert missing.value.status == 404
