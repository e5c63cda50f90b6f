/** Request-line and header cases: query strings, path decoding, header mapping (RFC 3875 §4.1, PEP 3333). */
import { assert, type BatteryCase } from "./case.ts";

function queryCase(id: string, description: string, target: string, query: string): BatteryCase {
  return {
    id: `query-${id}`,
    description,
    async run(ctx) {
      const env = await ctx.environ({ path: target });
      assert.equal(env.QUERY_STRING, query);
      assert.equal(env.PATH_INFO, "/env/q");
    },
  };
}

function pathCase(id: string, description: string, target: string, pathInfo: string, needs?: BatteryCase["needs"]): BatteryCase {
  return {
    id: `path-${id}`,
    description,
    needs,
    async run(ctx) {
      const env = await ctx.environ({ path: target });
      assert.equal(env.PATH_INFO, pathInfo, "PATH_INFO, decoded once, as a byte string");
      assert.equal(env.SCRIPT_NAME, ctx.mount);
      if (env.REQUEST_URI !== undefined) assert.equal(env.REQUEST_URI, ctx.url(target), "REQUEST_URI stays raw");
    },
  };
}

/** Request headers → environ keys. `headers` are sent; `expect` maps keys to values (undefined = absent). */
function headerCase(id: string, description: string, headers: [string, string][], expect: Record<string, string | undefined>, needs?: BatteryCase["needs"]): BatteryCase {
  return {
    id: `header-${id}`,
    description,
    needs,
    async run(ctx) {
      const env = await ctx.environ({ path: "/env/h", headers });
      for (const [k, v] of Object.entries(expect)) assert.equal(env[k], v, k);
    },
  };
}

export const requestCases: BatteryCase[] = [
  queryCase("none", "no ? at all: QUERY_STRING is present and empty", "/env/q", ""),
  queryCase("empty", "a bare ?: QUERY_STRING empty", "/env/q?", ""),
  queryCase("percent", "%-escapes stay encoded in QUERY_STRING", "/env/q?a=%41%20b&c=%E2%9C%93&d=%2B%26", "a=%41%20b&c=%E2%9C%93&d=%2B%26"),
  queryCase("plus", "+ is passed through, not turned into a space", "/env/q?q=a+b+c&plus=%2B", "q=a+b+c&plus=%2B"),
  queryCase("empty-values", "empty values and names are kept as sent", "/env/q?a=&b&=c&&d=", "a=&b&=c&&d="),
  queryCase("specials", "/ ? ; = and : inside the query are kept", "/env/q?x=/p?y=1;z=%3D:w", "x=/p?y=1;z=%3D:w"),
  queryCase("fragment-like", "a literal %23 stays encoded", "/env/q?h=%23frag", "h=%23frag"),
  pathCase("comma", "%2c in the path is decoded (Plack #12)", "/foo/bar%2cbaz", "/foo/bar,baz"),
  pathCase("double-encoding", "%252c is decoded exactly once (Plack #13)", "/foo/bar%252cbaz", "/foo/bar%2cbaz"),
  pathCase("utf8", "%E3%81%82 becomes the three raw bytes (Plack #14)", "/foo%E3%81%82", "/foo\u00e3\u0081\u0082"),
  pathCase("non-utf8", "bytes that are not UTF-8 (%FF%FE%80) survive as bytes", "/bin/%FF%FE%80", "/bin/\u00ff\u00fe\u0080"),
  pathCase("space", "%20 becomes a space", "/a%20b/c%20", "/a b/c "),
  pathCase("repeated-slashes", "repeated slashes are not merged (Plack #36)", "/env//foo///bar/baz", "/env//foo///bar/baz"),
  pathCase("request-uri-raw", "REQUEST_URI keeps %20 and %73 as sent (Plack #25)", "/foo/bar%20baz%73?x=a", "/foo/bar bazs"),
  pathCase("encoded-slash", "%2F is decoded into PATH_INFO like any escape (RFC 3875 §4.1.5)", "/a%2Fb", "/a/b", ["encodedSlash"]),
  pathCase("trailing-slash", "a trailing slash is kept", "/foo/", "/foo/"),
  headerCase("simple", "Foo: Bar → HTTP_FOO (Plack #9)", [["Foo", "Bar"]], { HTTP_FOO: "Bar" }),
  headerCase("repeated", "two Foo lines → one value joined with \", \" (Plack #21)", [["Foo", "bar"], ["Foo", "baz"]], { HTTP_FOO: "bar, baz" }),
  headerCase("mixed-case", "header names of any case map to the same key", [["x-MiXeD-cAsE", "v1"]], { HTTP_X_MIXED_CASE: "v1" }),
  headerCase("cookie-repeated", "two Cookie lines are joined with \"; \" (RFC 9113 §8.2.3)", [["Cookie", "a=1"], ["Cookie", "b=2"]], { HTTP_COOKIE: "a=1; b=2" }),
  headerCase("content-keys", "Content-Type/Length only as CONTENT_TYPE/CONTENT_LENGTH, never HTTP_CONTENT_*", [["Content-Type", "application/x-test"], ["Content-Length", "0"]], { CONTENT_TYPE: "application/x-test", HTTP_CONTENT_TYPE: undefined, HTTP_CONTENT_LENGTH: undefined }),
  headerCase("underscore-dropped", "a name with _ is dropped so it cannot pose as the - name", [["X_Forwarded_User", "evil"]], { HTTP_X_FORWARDED_USER: undefined }),
  headerCase("httpoxy", "a Proxy header never becomes HTTP_PROXY (CVE-2016-5385)", [["Proxy", "http://evil:1"]], { HTTP_PROXY: undefined }),
  headerCase("long-value", "a 6000-byte header value arrives intact (Plack #27 at scale)", [["X-Long", "v".repeat(6000)]], { HTTP_X_LONG: "v".repeat(6000) }),
  headerCase("latin1-value", "obs-text bytes 0x80-0xFF in a value arrive as the same bytes", [["X-Bytes", "caf\u00e9 \u00ff\u0080"]], { HTTP_X_BYTES: "caf\u00e9 \u00ff\u0080" }),
  headerCase("whitespace", "optional whitespace around a value is stripped, inner spaces kept", [["X-Pad", "  a  b  "]], { HTTP_X_PAD: "a  b" }),
  headerCase("authorization", "Authorization reaches the app (Plack #35)", [["Authorization", "Basic dXNlcjpwYXNz"]], { HTTP_AUTHORIZATION: "Basic dXNlcjpwYXNz" }, ["authorization"]),
  {
    id: "header-no-authorization",
    description: "without Authorization, HTTP_AUTHORIZATION is absent (Plack #35)",
    async run(ctx) {
      const env = await ctx.environ({ path: "/env/h" });
      assert.equal(env.HTTP_AUTHORIZATION, undefined);
    },
  },
  {
    id: "header-cannot-set-cgi-keys",
    description: "request headers named like CGI keys cannot set them",
    async run(ctx) {
      const env = await ctx.environ({
        path: "/env/h",
        headers: [["Script-Name", "/evil"], ["Path-Info", "/evil"], ["Request-Method", "DELETE"], ["Remote-Addr", "6.6.6.6"]],
      });
      assert.equal(env.SCRIPT_NAME, ctx.mount);
      assert.equal(env.PATH_INFO, "/env/h");
      assert.equal(env.REQUEST_METHOD, "GET");
      assert.notEqual(env.REMOTE_ADDR, "6.6.6.6");
    },
  },
];
