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

const NO_EXPORT_ALL = { selector: "ExportAllDeclaration", message: "Export by name: no `export *`." };

// In Node 20's V8, an object literal that begins with a spread and has more members
// (`{ ...a, b }`, `{ ...a, ...b }`) gets a hidden class of its own on every evaluation: each such
// object is new to every inline cache that reads it, and each leaves a map to collect. On the
// per-object and per-message paths that cost the job tens of microseconds an object.
const NO_LEADING_SPREAD = {
  selector: "ObjectExpression[properties.length>1] > SpreadElement:first-child",
  message:
    "An object literal that begins with a spread gets a new hidden class on every call (Node 20): " +
    "write a property first (`{ a, ...b }`); where later values must win, Object.assign({}, a, b) " +
    "for the job's own values, and for data from outside (contexts, metadata, files) `const c = { ...b }` " +
    'then assignments (Object.assign would turn an own "__proto__" key into the prototype).',
};

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/dist/**", "coverage/**", "bench/out/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", Buffer: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-restricted-syntax": ["error", NO_EXPORT_ALL],
    },
  },
  {
    // The code that runs once per message or per object.
    files: [
      "packages/core/src/**",
      // The job's layers, from model up to its Lambda handler (not batch-ops, file tools, keys, cli).
      ...REENCRYPT_LAYERS.slice(0, REENCRYPT_LAYERS.indexOf("lambda") + 1).map(
        (folder) => `packages/reencrypt/src/${folder}/**`,
      ),
    ],
    rules: { "no-restricted-syntax": ["error", NO_EXPORT_ALL, NO_LEADING_SPREAD] },
  },
  layer(
    ["packages/core/src/format/**"],
    [["../crypto/**", "../keyring/**", "../api/**", "../stream/**", "@aws-sdk/*", "node:crypto"]],
  ),
  layer(["packages/core/src/crypto/**"], [["../keyring/**", "../api/**", "../stream/**", "@aws-sdk/*"]]),
  layer(["packages/core/src/keyring/**"], [["../api/**", "../stream/**"]]),
  ...reencryptLayers,
);
