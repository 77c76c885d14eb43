# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scripted stand-ins for the HTTP session, clock and sleep used by the client tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import requests


def make_response(status=200, body=None, headers=None, raw=None):
    response = requests.Response()
    response.status_code = status
    response.reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests",
                       500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "")
    if raw is not None:
        response._content = raw
    elif body is not None:
        response._content = json.dumps(body).encode("utf-8")
    else:
        response._content = b""
    response.headers.update(headers or {})
    return response


class FakeSession:
    """Returns (or raises) scripted answers in order and records every call."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []
        self.headers = {}

    def request(self, method, url, data=None, headers=None, timeout=None, verify=True, cert=None):
        self.calls.append({"method": method, "url": url, "data": data, "headers": dict(headers or {}),
                           "verify": verify, "cert": cert})
        if not self.answers:
            raise AssertionError("unexpected request %s %s" % (method, url))
        answer = self.answers.pop(0)
        if callable(answer):
            answer = answer(method, url, data, headers)
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeTime:
    """A clock that only moves when the code under test sleeps (or the test says so)."""

    def __init__(self, now=1000.0):
        self.now = now
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
