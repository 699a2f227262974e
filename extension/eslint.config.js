import js from "@eslint/js";
import globals from "globals";

export default [
  // vendor/ is copied from npm as published (tools/vendor.js), not our code to lint.
  { ignores: ["node_modules/**", "web-ext-artifacts/**", "test/.generated/**", "vendor/**"] },
  js.configs.recommended,
  {
    files: ["**/*.js"],
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: "module",
      globals: { ...globals.browser, ...globals.webextensions },
    },
    rules: {
      "no-unused-vars": ["error", { argsIgnorePattern: "^_", ignoreRestSiblings: true }],
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      eqeqeq: ["error", "always"],
      "prefer-const": "error",
    },
  },
  {
    files: ["test/**/*.js", "tools/**/*.js", "eslint.config.js", "web-ext-config.mjs"],
    languageOptions: { globals: { ...globals.node } },
  },
];
