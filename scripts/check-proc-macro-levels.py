#!/usr/bin/env python3
"""Fails when a proc macro in the build is missing from Cargo.toml's opt-level 0 list.

Cargo.toml optimises the dependencies of debug builds a little (`[profile.dev.package."*"]`,
opt-level 1), and that entry outranks `build-override`, so proc macros are built at 1 too unless
`[profile.dev.package]` names each one at 0. At 1 a proc macro only compiles slower (it runs at
expansion time, briefly); the list was 45 s -> 8 s of a cold debug build for `syn` alone. A proc
macro that a new dependency brings in is found here, by name, before it quietly costs that again;
so is an entry that no longer matches any crate of the build, which cargo passes over in silence.
Usage: scripts/check-proc-macro-levels.py (from anywhere; runs offline against Cargo.lock).
"""

import json
import pathlib
import subprocess
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run(*command: str) -> str:
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"check-proc-macro-levels: {' '.join(command)} failed:\n{done.stderr}")
    return done.stdout


def crates() -> tuple[set[str], set[str]]:
    """Names of every crate in the resolved graph on this host, and of the proc macros among them."""
    host = next(
        line.split()[1] for line in run("rustc", "-vV").splitlines() if line.startswith("host:")
    )
    metadata = json.loads(
        run("cargo", "metadata", "--format-version", "1", "--locked", "--offline",
            "--filter-platform", host)
    )
    packages = {package["id"]: package for package in metadata["packages"]}
    built = [packages[node["id"]] for node in metadata["resolve"]["nodes"]]
    names = {package["name"] for package in built}
    macros = {
        package["name"]
        for package in built
        if any("proc-macro" in target["kind"] for target in package["targets"])
    }
    return names, macros


def overrides() -> dict[str, dict]:
    """`[profile.dev.package]` of Cargo.toml, without the `"*"` entry."""
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())
    listed = manifest.get("profile", {}).get("dev", {}).get("package", {})
    return {name: settings for name, settings in listed.items() if name != "*"}


def main() -> int:
    names, macros = crates()
    listed = overrides()
    at_zero = {name for name, settings in listed.items() if settings.get("opt-level") == 0}
    failures = []
    if missing := sorted(macros - at_zero):
        failures.append(
            "proc macros built at opt-level 1 in debug; add each to [profile.dev.package] in "
            "Cargo.toml as `<name> = { opt-level = 0 }`: " + ", ".join(missing)
        )
    if stale := sorted(set(listed) - names):
        failures.append(
            "[profile.dev.package] in Cargo.toml names crates the build no longer has; remove: "
            + ", ".join(stale)
        )
    for failure in failures:
        print(f"check-proc-macro-levels: {failure}", file=sys.stderr)
    if failures:
        return 1
    print(f"check-proc-macro-levels: the {len(macros)} proc macros are built at opt-level 0 in debug")
    return 0


if __name__ == "__main__":
    sys.exit(main())
