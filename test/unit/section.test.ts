// Unit tests of the scoped checker: full key paths, known fields from the defaults object, every
// problem collected.
import * as assert from "assert";
import { Checker } from "../../components/config/checker";
import { type Fields, Section } from "../../components/config/section";

const DEFAULTS = {
  size: 3,
  name: "small",
  nested: { enabled: true },
};

function read(raw: unknown): {
  value: Fields<typeof DEFAULTS>;
  problems: string[];
} {
  const c = new Checker();
  const s = new Section(c, "demo.part", raw, DEFAULTS);
  const nested = s.section("nested");
  const value = {
    size: s.integer("size", 1, 10),
    name: s.string("name"),
    nested: { enabled: nested.boolean("enabled") },
  } satisfies Fields<typeof DEFAULTS>;
  return { value, problems: c.problems };
}

// Checked by `npm run build` (tsc): a section's result must name exactly the defaults' fields.
// @ts-expect-error a field of the defaults (here `nested`) read by no rule does not compile
const _missingRule = { size: 1, name: "x" } satisfies Fields<typeof DEFAULTS>;
const _extraRule = {
  size: 1,
  name: "x",
  nested: {},
  // @ts-expect-error a rule for a field the defaults do not list does not compile
  colour: "red",
} satisfies Fields<typeof DEFAULTS>;

describe("a config section (scoped checker)", () => {
  it("WHEN a field is unset THEN it reads as its default", () => {
    assert.deepStrictEqual(read(undefined), {
      value: { size: 3, name: "small", nested: { enabled: true } },
      problems: [],
    });
  });

  it("WHEN a field is bad THEN the message names its full key and the fix", () => {
    assert.deepStrictEqual(read({ size: 11 }).problems, [
      "demo.part.size must be a whole number from 1 to 10 (got 11); e.g. 'pulumi config set --path demo.part.size 3'",
    ]);
    assert.deepStrictEqual(read({ nested: { enabled: "yes" } }).problems, [
      `demo.part.nested.enabled must be true or false (got "yes"); set it with 'pulumi config set --path demo.part.nested.enabled true'`,
    ]);
  });

  it("WHEN a field is not among the defaults' keys THEN it is unknown, and the known ones are listed in their order", () => {
    assert.deepStrictEqual(read({ colour: "red" }).problems, [
      `demo.part.colour is not a known setting (got "red"); known fields of demo.part: size, name, nested`,
    ]);
  });

  it("WHEN several fields are bad THEN every problem is collected", () => {
    const { problems } = read({ size: 0, name: "", extra: 1, nested: 5 });
    assert.strictEqual(problems.length, 4, problems.join("\n"));
  });

  it("WHEN the section is not an object THEN that is the one problem and the defaults apply", () => {
    assert.deepStrictEqual(read("big"), {
      value: { size: 3, name: "small", nested: { enabled: true } },
      problems: [
        `demo.part must be an object (got "big"); set its fields with 'pulumi config set --path demo.part.<field> <value>'`,
      ],
    });
  });
});
