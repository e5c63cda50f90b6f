/** The battery and the CGI checks through lighttpd 1.4 mod_cgi (examples/deploy/lighttpd-cgi.conf). */
import { cgiServerSuite } from "./suite.ts";

cgiServerSuite("lighttpd", {
  chunked: true,
  localRedirect: false,
  nph: false,
});
