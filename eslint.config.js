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

// @rekey/reencrypt is layered too, each folder importing only the ones before it:
// model <- support <- kms <- planning <- stores <- sources <- operations <- runner <- reports
// <- lambda <- batch-ops <- file-tools <- keys <- cli. (errors.ts is below them all.)
const REENCRYPT_LAYERS = [
  "model",
  "support",
  "kms",
  "planning",
  "stores",
  "sources",
  "operations",
  "runner",
  "reports",
  "lambda",
  "batch-ops",
  "file-tools",
  "keys",
  "cli",
];
const reencryptLayers = REENCRYPT_LAYERS.map((folder, i) => ({
  files: [`packages/reencrypt/src/${folder}/**`],
  rules: {
    "no-restricted-imports": [
      "error",
      {
        patterns: [
          ...(i + 1 < REENCRYPT_LAYERS.length
            ? [
                {
                  group: REENCRYPT_LAYERS.slice(i + 1).flatMap((above) => [
                    `../${above}/**`,
                    `../../${above}/**`,
                  ]),
                  message: `Import direction in @rekey/reencrypt is ${REENCRYPT_LAYERS.join(" <- ")}.`,
                },
              ]
            : []),
          { group: ["../index.js", "../../index.js"], message: "Import the module, not the package entry." },
        ],
      },
    ],
  },
}));

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
  ...reencryptLayers,
);
