/** The battery and the CGI checks through busybox httpd (examples/deploy/busybox-httpd.conf). */
import { cgiServerSuite } from "./suite.ts";

cgiServerSuite("busybox", {
  chunked: false,
  localRedirect: false,
  nph: true,
});
