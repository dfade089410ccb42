// Generates src/generated/openapi.ts from infra/openapi.yaml, or with --check generates to a temp
// file and fails (with a diff) when the committed file differs. One list of flags for both, so the
// check can never compare against output made with other settings.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const spec = join(packageDir, "..", "..", "infra", "openapi.yaml");
const committed = join(packageDir, "src", "generated", "openapi.ts");
const cli = join(packageDir, "node_modules", "openapi-typescript", "bin", "cli.js");

const flags = [
  // A request field with a `default` (media_type, cover_index) stays optional: the generator's
  // default would make it required, and the service fills it in when it is left out.
  "--default-non-nullable", "false",
  // An object without listed properties (a webhook's `content`) is Record<string, unknown>,
  // not Record<string, never>, which would refuse every field.
  "--empty-objects-unknown",
];

function generate(output) {
  // Paths relative to the package, so the generated file's header never names this machine.
  const run = spawnSync(process.execPath, [cli, relative(packageDir, spec), "-o", relative(packageDir, output), ...flags], {
    cwd: packageDir,
    encoding: "utf8",
  });
  if (run.status !== 0) {
    process.stderr.write(run.stdout + run.stderr);
    throw new Error("openapi-typescript failed (its output is above)");
  }
}

if (!process.argv.includes("--check")) {
  generate(committed);
  console.log(`generated ${relative(packageDir, committed)} from infra/openapi.yaml`);
  process.exit(0);
}

const scratch = mkdtempSync(join(tmpdir(), "tiktok-connect-client-"));
try {
  const fresh = join(scratch, "openapi.ts");
  generate(fresh);
  const current = existsSync(committed) ? readFileSync(committed, "utf8") : "";
  if (current === readFileSync(fresh, "utf8")) {
    console.log("src/generated/openapi.ts matches infra/openapi.yaml");
  } else {
    console.error(
      "src/generated/openapi.ts is out of date with infra/openapi.yaml.\n" +
        "Run `npm run generate` in clients/typescript and commit the result. Difference (committed → fresh):",
    );
    const diff = spawnSync("diff", ["-u", committed, fresh], { encoding: "utf8" });
    process.stderr.write(diff.stdout || "(no diff program here: compare the files yourself)\n");
    // exitCode, not exit(): the scratch directory is removed first.
    process.exitCode = 1;
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
