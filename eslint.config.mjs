// ESLint (flat config): typescript-eslint's recommended rules, no unused locals, `import type`
// for type-only imports, and no import cycles. Formatting is Prettier's job (`npm run lint` runs
// both).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { importX } from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";

export default tseslint.config(
  { ignores: ["node_modules/", "bin/", ".testbed/", "test/testbed/go/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  importX.flatConfigs.typescript,
  {
    files: ["**/*.ts"],
    settings: {
      "import-x/resolver-next": [
        createTypeScriptImportResolver({ project: "tsconfig.json" }),
      ],
    },
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
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      "import-x/no-self-import": "error",
      "import-x/no-useless-path-segments": "error",
    },
  },
  {
    // The test bed's driver is maintained with the test bed; it keeps the cycle and unused-code
    // rules, not the typing style ones.
    files: ["test/integration/**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/consistent-type-imports": "off",
      "preserve-caught-error": "off",
    },
  },
);
