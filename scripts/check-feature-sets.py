#!/usr/bin/env python3
"""Fails when the debug builds `make test` and `make dev` run would compile a dependency twice.

Cargo builds a crate once per set of features it is asked for, and resolves features per
invocation: `cargo test --workspace` turns on what the tests' dev-dependencies need, `cargo lambda
watch` builds each function alone, `scripts/dev.sh` builds devstack and the fake TikTok together.
When one of them gives a shared crate (tokio, hyper, ...) a feature the others do not, that crate
and everything above it (the AWS SDK) is compiled once more: a clean clone's `make test` paid two
extra debug builds of the SDK that way. This compares, with `cargo tree` (no compiling), the
features of every crate in the test build with each of the others, and names the differences.
The fix is usually a feature in shared/workspace-hack/Cargo.toml, or a test that does without it.
Usage: scripts/check-feature-sets.py (from anywhere; runs offline against Cargo.lock).
"""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# (crate name, feature) pairs allowed to differ: our own crates only, so what they cost is a
# second build of the workspace's crates (seconds), never of a dependency. connect-domain's
# in-memory fakes stay out of what the functions compile.
ALLOWED = {("connect-domain", "test-util")}


def features(*args: str) -> dict[str, frozenset[str]]:
    """Crate ("name vX.Y.Z") -> its features, as `cargo tree <args>` resolves them."""
    command = ["cargo", "tree", "--locked", "--offline", "--prefix", "none", "-f", "{p}|{f}", *args]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"check-feature-sets: {' '.join(command)} failed:\n{run.stderr}")
    out = run.stdout
    crates: dict[str, frozenset[str]] = {}
    for line in out.splitlines():
        if "|" not in line:
            continue
        package, feats = line.removesuffix(" (*)").split("|", 1)
        # A path crate's "{p}" ends with its directory: the name and version are enough.
        crate = " ".join(package.split()[:2])
        crates[crate] = frozenset(f for f in feats.split(",") if f)
    return crates


def differences(reference: dict, other: dict) -> list[str]:
    found = []
    for crate, feats in sorted(other.items()):
        if crate not in reference:
            continue
        name = crate.split()[0]
        only_tests = {f for f in reference[crate] - feats if (name, f) not in ALLOWED}
        only_here = {f for f in feats - reference[crate] if (name, f) not in ALLOWED}
        if only_tests or only_here:
            found.append(
                f"{crate}: the test build adds {sorted(only_tests)}, this build adds {sorted(only_here)}"
            )
    return found


def main() -> int:
    tests = features("--workspace", "-e", "normal,build,dev")
    builds = {
        f"function {d.name} (cargo lambda watch)": ["-p", d.name]
        for d in sorted((ROOT / "functions").iterdir())
        if (d / "Cargo.toml").exists()
    }
    builds["devstack + fake-tiktok (scripts/dev.sh)"] = ["-p", "devstack", "-p", "fake-tiktok"]
    failed = False
    for label, args in builds.items():
        found = differences(tests, features(*args, "-e", "no-dev"))
        if found:
            failed = True
            print(f"check-feature-sets: {label} resolves features the test build does not:")
            for line in found:
                print(f"  {line}")
    if failed:
        print(
            "check-feature-sets: each difference compiles that crate and everything above it a "
            "second time (docs/development.md#one-debug-build); add the features to "
            "shared/workspace-hack/Cargo.toml or do without them in the tests"
        )
        return 1
    print(f"check-feature-sets: the test build and {len(builds)} others resolve the same features")
    return 0


if __name__ == "__main__":
    sys.exit(main())
