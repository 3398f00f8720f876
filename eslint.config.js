// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// The import direction inside @rekey/core is one way:
// format <- crypto <- keyring <- stream/API. Each layer may not import the layers above it.
const layer = (files, forbidden) => ({
  files,
  rules: {
    "no-restricted-imports": [
      "error",
      {
        patterns: forbidden.map((group) => ({
          group,
          message: "Import direction in @rekey/core is format <- crypto <- keyring <- api.",
        })),
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/dist/**", "coverage/**", "bench/out/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", Buffer: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-restricted-syntax": [
        "error",
        {
          selector: "ExportAllDeclaration",
          message: "Export by name: no `export *`.",
        },
      ],
    },
  },
  layer(
    ["packages/core/src/format/**"],
    [["../crypto/**", "../keyring/**", "../api/**", "../stream/**", "@aws-sdk/*", "node:crypto"]],
  ),
  layer(["packages/core/src/crypto/**"], [["../keyring/**", "../api/**", "../stream/**", "@aws-sdk/*"]]),
  layer(["packages/core/src/keyring/**"], [["../api/**", "../stream/**"]]),
);
