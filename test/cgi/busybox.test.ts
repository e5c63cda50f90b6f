/**
 * The battery and the CGI checks through busybox httpd (examples/deploy/busybox-httpd.conf).
 * busybox httpd is the smallest of the three and the least conformant; every skip below is
 * its behaviour, seen here with busybox 1.35.
 */
import { cgiServerSuite, CGI_TRUNCATION } from "./suite.ts";

const requestUriDecoded = "busybox httpd sets REQUEST_URI to the decoded path, so the raw target is lost before the script runs";
const trailingSlash = "busybox httpd answers 404 to a script URL ending in / (it looks for a folder)";

cgiServerSuite("busybox", {
  chunked: false,
  localRedirect: false,
  nph: true,
  capabilities: {
    keepAlive: "busybox httpd closes the connection after every response",
    pipelining: "busybox httpd closes the connection after every response",
    chunkedRequest: "busybox httpd does not de-chunk a request body: the script would get the chunk framing",
    continue100: "busybox httpd sends no 100 Continue",
    authorization: "busybox httpd keeps Authorization to itself",
    encodedSlash: trailingSlash,
  },
  skip: {
    ...CGI_TRUNCATION,
    "environ-head": "busybox httpd closes the connection without a response to a HEAD for a CGI script",
    "response-head": "busybox httpd closes the connection without a response to a HEAD for a CGI script",
    "environ-mount-slash": trailingSlash,
    "path-trailing-slash": trailingSlash,
    "environ-http10": "busybox httpd tells CGI scripts SERVER_PROTOCOL=HTTP/1.1 whatever the client spoke",
    "path-comma": requestUriDecoded,
    "path-double-encoding": requestUriDecoded,
    "path-utf8": requestUriDecoded,
    "path-non-utf8": requestUriDecoded,
    "path-space": requestUriDecoded,
    "path-request-uri-raw": requestUriDecoded,
    "path-repeated-slashes": "busybox httpd merges repeated slashes in the path",
    "header-repeated": "busybox httpd keeps only the last of two same-named request headers",
    "header-cookie-repeated": "busybox httpd keeps only the last of two Cookie lines",
    "header-underscore-dropped": "busybox httpd maps - and _ in header names alike: X_Forwarded_User reaches a CGI script as HTTP_X_FORWARDED_USER",
    "header-whitespace": "busybox httpd keeps trailing whitespace in header values",
    "body-binary": "busybox httpd sets CONTENT_LENGTH for a PUT but pipes no body (it forwards POST bodies only); cgi-run then answers 400",
  },
});
