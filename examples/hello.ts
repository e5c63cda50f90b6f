/** The smallest tsgi app: a sync (WSGI-style) app. Run it with `npm start`. */
import type { Environ, StartResponse } from "tsgi";

export default function app(environ: Environ, startResponse: StartResponse) {
  startResponse("200 OK", [["Content-Type", "text/plain; charset=utf-8"]]);
  return [`Hello from tsgi! You asked for ${environ.PATH_INFO}\n`];
}
