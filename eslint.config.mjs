// ESLint (flat config): typescript-eslint's recommended rules, no unused locals and `import type`
// for type-only imports. Import circles and the layer rule of components/ are checked by
// test/lint/checkImports.ts (the TypeScript compiler's own import reader: eslint-plugin-import-x
// needs native resolver bindings whose other-platform builds this registry does not serve, so its
// lock file cannot pass `npm ci`). Formatting is Prettier's job; `npm run lint` runs all three.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "bin/", ".testbed/", "test/testbed/go/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          args: "after-used",
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          ignoreRestSiblings: true,
        },
      ],
      "@typescript-eslint/consistent-type-imports": [
        "error",
        { fixStyle: "inline-type-imports" },
      ],
    },
  },
  {
    // Small files with names that say what they hold.
    files: ["components/**/*.ts", "index.ts"],
    rules: { "max-lines": ["error", { max: 300 }] },
  },
  {
    // The CommonJS loader `pulumi` starts the program with (tools/register.js): plain Node.
    files: ["tools/**/*.js"],
    languageOptions: {
      sourceType: "commonjs",
      globals: {
        require: "readonly",
        module: "writable",
        __dirname: "readonly",
        process: "readonly",
      },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // The test bed's drivers (scenarios, benchmark) are maintained with the test bed; they keep
    // the cycle and unused-code rules, not the typing style ones.
    files: ["test/integration/**/*.ts", "test/bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/consistent-type-imports": "off",
      "preserve-caught-error": "off",
    },
  },
);
