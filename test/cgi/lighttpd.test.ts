/** The battery and the CGI checks through lighttpd 1.4 mod_cgi (examples/deploy/lighttpd-cgi.conf). */
import { cgiServerSuite, CGI_TRUNCATION } from "./suite.ts";

cgiServerSuite("lighttpd", {
  chunked: true,
  localRedirect: false,
  nph: false,
  capabilities: {
    streaming: "lighttpd holds a CGI response until the script ends unless server.stream-response-body = 1 (docs/cgi.md)",
  },
  skip: {
    ...CGI_TRUNCATION,
    "path-repeated-slashes": "lighttpd merges repeated slashes in the path before it splits SCRIPT_NAME/PATH_INFO",
    "header-underscore-dropped": "lighttpd maps every non-alphanumeric header-name character to _: X_Forwarded_User reaches a CGI script as HTTP_X_FORWARDED_USER, indistinguishable from X-Forwarded-User",
    "body-none": "lighttpd answers 411 to a POST with neither Content-Length nor Transfer-Encoding",
    "response-status-418": "lighttpd writes its own reason phrases and has none for 418",
    "response-head": "lighttpd recomputes a HEAD response's Content-Length from the (empty) CGI body and drops the script's",
  },
});
