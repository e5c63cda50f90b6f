/**
 * The battery and the CGI checks through Apache httpd 2.4: mod_cgid under the event MPM
 * (Debian's default) and mod_cgi under prefork, both from examples/deploy/apache-cgi.conf.
 */
import { cgiServerSuite, CGI_TRUNCATION, type SuiteOptions } from "./suite.ts";

const apache: SuiteOptions = {
  chunked: true,
  localRedirect: true,
  nph: true,
  capabilities: {
    authorization: "Apache keeps Authorization from CGI scripts unless CGIPassAuth On (a commented line in the deploy config)",
    encodedSlash: "Apache answers 404 to %2F in a path unless AllowEncodedSlashes",
    contentLength: "Apache re-frames CGI output (chunked to HTTP/1.1 clients) and drops the script's Content-Length",
  },
  skip: {
    ...CGI_TRUNCATION,
    "path-repeated-slashes": "Apache merges repeated slashes before it splits SCRIPT_NAME/PATH_INFO (MergeSlashes On, its default)",
    "header-cookie-repeated": "Apache joins repeated Cookie lines with \", \" before it builds the CGI environment",
  },
};

cgiServerSuite("apache-cgid", apache);
cgiServerSuite("apache-cgi", apache);
