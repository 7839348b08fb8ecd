// Lint rules encode bug classes we never want back (STYLE.md habit 12).
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "tools/**", ".conformance/**", ".scratch/**", "bench/results/**", "coverage/**"] },
  ...tseslint.configs.recommended,
  { files: ["**/*.cjs"], languageOptions: { sourceType: "commonjs" }, rules: { "@typescript-eslint/no-require-imports": "off" } },
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
      "no-restricted-properties": [
        "error",
        { object: "Math", property: "random", message: "Not a CSPRNG: use node:crypto (randomBytes, randomInt, randomUUID)." },
      ],
    },
  },
  {
    files: ["src/**/*.ts"],
    ignores: ["src/cli/**"],
    rules: { "no-console": ["error"] },
  },
  {
    // Request bodies become values only through the guarded parser in src/jsonrpc (UTF-8, depth, shape).
    files: ["src/http/**/*.ts", "src/protocol/**/*.ts", "src/guard/**/*.ts", "src/pipeline/**/*.ts", "src/forward/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-properties": [
        "error",
        { object: "JSON", property: "parse", message: "Parse client input with parseBody/parseMessages (src/jsonrpc, src/guard)." },
        { object: "Math", property: "random", message: "Not a CSPRNG: use node:crypto." },
      ],
    },
  },
  {
    // Secrets are compared in constant time: hash both sides, then crypto.timingSafeEqual.
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector:
            "BinaryExpression[operator=/^[!=]==$/][left.name=/(secret|password|token|apiKey|hmac|signature|digest)$/i]:not([right.type='Literal']):not([right.name='undefined']):not([right.type='UnaryExpression'])",
          message: "Compare secrets with the constant-time helper, never ===.",
        },
      ],
    },
  },
);
