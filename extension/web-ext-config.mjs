// web-ext reads this for `web-ext lint` (and `web-ext run` if you use it):
// only the extension's own files are packaged and linted.
export default {
  ignoreFiles: [
    "package.json",
    "package-lock.json",
    "eslint.config.js",
    "web-ext-config.mjs",
    "test",
    "tools",
    "icons/icon.svg",
  ],
};
