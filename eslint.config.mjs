// ESLint (flat config): typescript-eslint's recommended rules, no unused locals, `import type`
// for type-only imports, and no import cycles. Formatting is Prettier's job (`npm run lint` runs
// both).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { importX } from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";

// The layers of components/, bottom up, and the layers each may import (besides its own folder).
// Imports go only down; rooms on one floor do not import each other.
const LAYERS = {
  core: [],
  config: ["core"],
  specs: ["core", "config"],
  istio: ["core", "config", "specs"],
  workloads: ["core", "config", "specs"],
  apps: ["core", "config", "specs", "workloads"],
  observability: ["core", "config", "specs"],
};
const layerZones = Object.entries(LAYERS).map(([layer, allowed]) => ({
  target: `./components/${layer}`,
  from: [
    "./index.ts",
    ...Object.keys(LAYERS)
      .filter((other) => other !== layer && !allowed.includes(other))
      .map((other) => `./components/${other}`),
  ],
  message: `components/${layer} may import only ${allowed.length > 0 ? allowed.join(", ") : "nothing of the project (it is the ground floor)"}`,
}));

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
      "import-x/no-restricted-paths": ["error", { zones: layerZones }],
      "import-x/no-self-import": "error",
      "import-x/no-useless-path-segments": "error",
    },
  },
  {
    // Small files with names that say what they hold.
    files: ["components/**/*.ts", "index.ts"],
    rules: { "max-lines": ["error", { max: 300 }] },
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
