"""The uwsgi bench's baseline: the same hello as a WSGI app, served by uWSGI's python3 plugin."""

BODY = b'Hello, World!'
HEADERS = [('Content-Type', 'text/plain'), ('Content-Length', str(len(BODY)))]


def application(environ, start_response):
    start_response('200 OK', HEADERS)
    return [BODY]
