// pretest: write the protocol's JSON Schema (`tuckaway schema`) to
// test/.generated/schema.json for test/schema.test.js. With --ops (`npm run
// gen-ops`) also write lib/ops.js, the extension's op lists, from it.
//
// Python is taken from $TUCKAWAY_PYTHON, else the repository's venv if there is
// one, else `python3`; the host's package is found through PYTHONPATH=../host.
// If the schema cannot be produced, the schema test says so and is skipped;
// nothing else depends on it.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { opsModule } from "./ops-module.js";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..", "..");
const out = join(here, "..", "test", ".generated", "schema.json");

const candidates = [
  process.env.TUCKAWAY_PYTHON,
  join(repo, ".venv", "bin", "python"),
  process.env.VIRTUAL_ENV && join(process.env.VIRTUAL_ENV, "bin", "python"),
  "python3",
].filter((p) => p && (!p.includes("/") || existsSync(p)));

mkdirSync(dirname(out), { recursive: true });
rmSync(out, { force: true });
for (const python of candidates) {
  const run = spawnSync(python, ["-m", "tuckaway.cli.main", "schema"], {
    env: { ...process.env, PYTHONPATH: join(repo, "host") },
    encoding: "utf-8",
  });
  if (run.status === 0 && run.stdout.trim().startsWith("{")) {
    writeFileSync(out, run.stdout);
    console.log(`protocol schema from ${python} -> ${out}`);
    if (process.argv.includes("--ops")) {
      const ops = join(here, "..", "lib", "ops.js");
      writeFileSync(ops, opsModule(JSON.parse(run.stdout)));
      console.log(`op lists -> ${ops}`);
    }
    process.exit(0);
  }
}
console.warn("could not run `tuckaway schema`; test/schema.test.js will be skipped");
