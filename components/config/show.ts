// How messages spell what the user wrote: values, shortened and never throwing, and keys, as
// `pulumi config set --path` takes them.

/** How much of a value a message shows. */
const SHOW_LIMIT = 200;

/**
 * A value as the user typed it (JSON), for messages: at most SHOW_LIMIT characters, however big,
 * deep or self-referencing the value is, and never throwing. NaN and the infinities are shown as
 * such, not as JSON's null.
 */
export function show(v: unknown): string {
  let out = "";
  // Appends text; false once the limit is passed, which stops the walk.
  const put = (text: string): boolean => {
    out += text;
    return out.length <= SHOW_LIMIT;
  };
  const walk = (x: unknown, path: readonly object[]): boolean => {
    if (typeof x === "number") {
      return put(Object.is(x, -0) ? "-0" : String(x));
    }
    if (typeof x === "string" || typeof x === "boolean" || x === null) {
      return put(JSON.stringify(x));
    }
    if (typeof x === "bigint") {
      return put(`${x}n`);
    }
    if (typeof x !== "object") {
      return put(String(x));
    }
    if (x instanceof Date) {
      return put(JSON.stringify(x));
    }
    if (path.includes(x)) {
      return put("<cycle>");
    }
    const inner = [...path, x];
    if (Array.isArray(x)) {
      return (
        put("[") &&
        x.every((item, i) => (i === 0 || put(",")) && walk(item, inner)) &&
        put("]")
      );
    }
    return (
      put("{") &&
      Object.entries(x).every(
        ([k, item], i) =>
          (i === 0 || put(",")) &&
          put(`${JSON.stringify(k)}:`) &&
          walk(item, inner),
      ) &&
      put("}")
    );
  };
  walk(v, []);
  return out.length > SHOW_LIMIT ? `${out.slice(0, SHOW_LIMIT - 3)}...` : out;
}

/** A field name `pulumi config set --path` takes after a dot. */
const PLAIN_FIELD = /^[A-Za-z0-9_-]+$/;

/**
 * The key of field `name` under `parent` ("" at the top), as `--path` spells it: a name that is
 * empty or holds a dot, a space, a quote or the like goes in brackets, quoted
 * (`canary.weights["v1; rm"]`); such a name at the top is only quoted.
 */
export function keyPath(parent: string, name: string): string {
  if (PLAIN_FIELD.test(name)) {
    return parent ? `${parent}.${name}` : name;
  }
  return parent ? `${parent}[${show(name)}]` : show(name);
}
