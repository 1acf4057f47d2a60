// A scoped checker: one object of the stack config, read field by field with the Checker's rules.
// It knows its own path, so each rule gets the field's full key ("resilience.retries.attempts")
// and its default, and its known fields are the keys of its defaults object.
import type { Resources } from "../core";
import type { Checker } from "./checker";
import type { Pattern } from "./patterns";

/** The fields of D whose default is a T (a field that is off by default has default undefined). */
type FieldsOfType<D, T> = {
  [K in keyof D]-?: D[K] extends T ? K : never;
}[keyof D] &
  string;

/**
 * What a section builds: exactly one entry per field of its defaults. A section's result
 * `satisfies Fields<typeof ITS_DEFAULTS>`, so a field added to the defaults (which makes it a
 * known setting) does not compile until a rule reads it, and a rule for a field the defaults do
 * not list (which the user could never set) does not compile either.
 */
export type Fields<D> = { [K in keyof D]-?: unknown };

export class Section<D extends object> {
  /** The raw object; {} when it is absent or is not an object (the problem recorded). */
  readonly raw: Record<string, unknown>;

  /**
   * Records a problem if `value` is not an object, and one for each field that `defaults` does
   * not list.
   */
  constructor(
    private readonly c: Checker,
    readonly key: string,
    value: unknown,
    readonly defaults: D,
  ) {
    this.raw = c.object(key, value, Object.keys(defaults));
  }

  /** The full key of a field, as messages and `pulumi config set --path` spell it. */
  path(field: keyof D & string): string {
    return `${this.key}.${field}`;
  }

  /** True when the user set the field. */
  has(field: keyof D & string): boolean {
    return this.raw[field] !== undefined;
  }

  /** Reads a field with a rule of its own. */
  field<K extends keyof D & string, T>(
    name: K,
    rule: (key: string, value: unknown, fallback: D[K]) => T,
  ): T {
    return rule(this.path(name), this.raw[name], this.defaults[name]);
  }

  /** The nested section of a field whose default is an object. */
  section<K extends FieldsOfType<D, object>>(name: K): Section<D[K] & object> {
    return new Section(
      this.c,
      this.path(name),
      this.raw[name],
      this.defaults[name] as D[K] & object,
    );
  }

  /** The nested section of a field that is off by default, with the defaults of its fields. */
  sectionOf<E extends object>(name: keyof D & string, defaults: E): Section<E> {
    return new Section(this.c, this.path(name), this.raw[name], defaults);
  }

  string(name: FieldsOfType<D, string>, rule?: Pattern): string {
    return this.field(name, (k, v, d) =>
      this.c.string(k, v, d as string, rule),
    );
  }

  boolean(name: FieldsOfType<D, boolean>): boolean {
    return this.field(name, (k, v, d) => this.c.boolean(k, v, d as boolean));
  }

  integer(name: FieldsOfType<D, number>, min: number, max: number): number {
    return this.field(name, (k, v, d) =>
      this.c.integer(k, v, d as number, min, max),
    );
  }

  percent(name: FieldsOfType<D, number>): number {
    return this.field(name, (k, v, d) => this.c.percent(k, v, d as number));
  }

  duration(name: FieldsOfType<D, string>): string {
    return this.field(name, (k, v, d) => this.c.duration(k, v, d as string));
  }

  oneOf<K extends FieldsOfType<D, string>>(
    name: K,
    allowed: readonly (D[K] & string)[],
  ): D[K] & string {
    return this.field(name, (k, v, d) =>
      this.c.oneOf(k, v, allowed, d as D[K] & string),
    );
  }

  namespace(name: FieldsOfType<D, string>): string {
    return this.field(name, (k, v, d) => this.c.namespace(k, v, d as string));
  }

  image(name: FieldsOfType<D, string>): string {
    return this.field(name, (k, v, d) => this.c.image(k, v, d as string));
  }

  helmRepo(name: FieldsOfType<D, string>): string {
    return this.field(name, (k, v, d) => this.c.helmRepo(k, v, d as string));
  }

  stringList(
    name: FieldsOfType<D, readonly string[]>,
    rule?: Pattern,
  ): string[] {
    return this.field(name, (k, v, d) =>
      this.c.stringList(k, v, d as readonly string[], rule),
    );
  }

  resources(name: FieldsOfType<D, Resources>): Resources {
    return this.field(name, (k, v, d) =>
      this.c.resources(k, v, d as Resources),
    );
  }
}
