/**
 * The environ starts as a copy of the request's CGI params. Copied key by key, each key is a
 * keyed store that V8 cannot specialise (the key changes at every step): ~15 ns each, the
 * largest piece of a uwsgi or FastCGI request's JavaScript on Node. But a front server sends
 * the same names in the same order on every request. So once one order has come `hot` times in
 * a row, a constructor is made for it whose body names each key (`this["PATH_INFO"] =
 * p["PATH_INFO"]; ...`), which V8 compiles to plain stores into a preallocated object: ~4x
 * faster for nginx's uwsgi block, and the object has room for the keys added after it.
 *
 * What a peer sends can make this slower, never wrong: names become JSON string literals (valid
 * JavaScript for any string), a constructor is made only for an order that held `hot` times, for
 * at most MAX_NAMES names of at most MAX_CHARS in all, and at most once per `compileEvery`
 * copies, so traffic whose order keeps changing costs a comparison per request and no more.
 */
import type { CgiParams } from "./request.ts";

/** A layout with more names, or longer ones, is always copied key by key. */
const MAX_NAMES = 128;
const MAX_CHARS = 4096;

/**
 * Names the environ does not take as they are (environFromParams decides on them), and
 * `__proto__`, which `this["__proto__"] =` would turn into a change of prototype.
 */
const SPECIAL = new Set(["HTTPS", "HTTP_PROXY", "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "__proto__"]);

export class ParamsCopier {
  private names: string[] = [];
  private seen = 0;
  private made: ((params: CgiParams) => CgiParams | null) | null = null;
  private sinceMade: number;
  /** False once making a function from source failed (code generation disallowed): key by key it stays. */
  private canMake = true;

  /** `hot`: same-order copies in a row before a constructor is made; `compileEvery`: copies between two made. */
  constructor(private readonly hot = 16, private readonly compileEvery = 1024) {
    this.sinceMade = compileEvery;
  }

  /** True while the names of the last params given have a constructor. */
  get compiled(): boolean {
    return this.made !== null;
  }

  /**
   * A copy of `params` made by the constructor for its names' order, or null: then the caller
   * copies it key by key. Null also when CONTENT_TYPE or CONTENT_LENGTH is "" (the environ
   * leaves those out) and for names that need a decision (SPECIAL).
   */
  copy(params: CgiParams): CgiParams | null {
    this.sinceMade++;
    let i = 0;
    const known = this.names;
    for (const k in params) {
      if (known[i] !== k) return this.miss(params);
      i++;
    }
    if (i !== known.length) return this.miss(params);
    if (this.made !== null) return this.made(params);
    if (++this.seen >= this.hot && this.sinceMade >= this.compileEvery && this.canMake) this.make();
    return null;
  }

  private miss(params: CgiParams): null {
    // for...in, not Object.keys: the same list `copy` compares (inherited enumerable keys too).
    const names: string[] = [];
    for (const k in params) names.push(k);
    this.names = names;
    this.seen = 1;
    this.made = null;
    return null;
  }

  private make(): void {
    this.seen = 0;
    const names = this.names;
    let chars = 0;
    for (const n of names) {
      if (SPECIAL.has(n)) return;
      chars += n.length;
    }
    if (names.length > MAX_NAMES || chars > MAX_CHARS) return;
    this.sinceMade = 0;
    const key = names.map((n) => JSON.stringify(n));
    const empty = key.filter((_, i) => names[i] === "CONTENT_TYPE" || names[i] === "CONTENT_LENGTH").map((k) => `p[${k}] === ""`);
    // Env's prototype is Object.prototype, as a literal's: apps see a plain object.
    const source = `"use strict";
function Env(p) {
${key.map((k) => `  this[${k}] = p[${k}];`).join("\n")}
}
Env.prototype = Object.prototype;
return function copy(p) { return ${empty.length > 0 ? `${empty.join(" || ")} ? null : ` : ""}new Env(p); };`;
    try {
      this.made = new Function(source)() as (params: CgiParams) => CgiParams | null;
    } catch {
      this.canMake = false;
    }
  }
}
