#!/usr/bin/python3
"""The Python baseline: the same hello through the standard library's wsgiref CGIHandler."""
from wsgiref.handlers import CGIHandler

BODY = b'Hello, World!'


def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(BODY)))])
    return [BODY]


CGIHandler().run(application)
