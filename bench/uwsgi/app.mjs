// The uwsgi bench's tsgi app for `tsgi serve` (bench/suites/uwsgi.sh): the same 13-byte hello
// as hello_wsgi.py, a sync app returning a one-chunk list.
const BODY = "Hello, World!";
const HEADERS = [["Content-Type", "text/plain"], ["Content-Length", String(BODY.length)]];

export default function hello(_environ, startResponse) {
  startResponse("200 OK", HEADERS);
  return [BODY];
}
