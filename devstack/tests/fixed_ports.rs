//! No fixed port of the project's own scripts and code lies in the kernel's ephemeral range: the
//! kernel hands those out to every outgoing connection (cargo, pip, npm, the functions, moto's
//! clients), so a stack that binds one there fails whenever a connection happens to hold it
//! (`Address already in use`, two red `make test` runs in three before this check).

use std::path::{Path, PathBuf};

use devstack::ports::{DEFAULT_EPHEMERAL, POOL, ephemeral_range};

/// Folders and files of the repository that start servers or name their ports.
const SCANNED: &[&str] = &[
    "Makefile",
    "scripts",
    "tests",
    "devstack",
    "fake-tiktok",
    "shared",
    "functions",
    "samconfig.toml",
];
const EXTENSIONS: &[&str] = &["sh", "py", "mjs", "js", "rs", "toml"];

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files_under(path: &Path, found: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if matches!(name, "node_modules" | "target" | ".venv" | ".git") {
            return;
        }
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .expect("readable folder")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for entry in entries {
            files_under(&entry, found);
        }
    } else {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if name == "Makefile" || EXTENSIONS.contains(&ext) {
            found.push(path.to_path_buf());
        }
    }
}

/// Every fixed port a line names: a number after `PORT=`, `PORT:-`, `PORT ` (shell and Make
/// variables such as `DEV_MOTO_PORT=16000`), `--port `/`-p ` or a loopback host
/// (`127.0.0.1:9000`, `localhost:9000`).
fn ports_in(line: &str) -> Vec<u16> {
    const MARKERS: &[&str] = &[
        "PORT=",
        "PORT:-",
        "PORT ?= ",
        "PORT := ",
        "--port ",
        "--port=",
        " -p ",
        "127.0.0.1:",
        "localhost:",
    ];
    let mut ports = Vec::new();
    for marker in MARKERS {
        for (at, _) in line.match_indices(marker) {
            let digits: String = line[at + marker.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(port) = digits.parse::<u16>()
                && port >= 1024
            {
                ports.push(port);
            }
        }
    }
    ports
}

#[test]
fn the_scanner_finds_the_shapes_the_scripts_use() {
    assert_eq!(
        ports_in("export DEV_MOTO_PORT=35000 DEV_TIKTOK_PORT=39100 \\"),
        [35000, 39100]
    );
    assert_eq!(ports_in("MOTO_PORT=${DEV_MOTO_PORT:-5000}"), [5000]);
    assert_eq!(
        ports_in(r#"let url = "http://127.0.0.1:39200/x";"#),
        [39200]
    );
    assert_eq!(ports_in("moto -H 127.0.0.1 -p 40000"), [40000]);
    assert_eq!(ports_in("bind 127.0.0.1:0 and port 80"), Vec::<u16>::new());
}

#[test]
fn no_fixed_port_lies_in_the_ephemeral_range() {
    // The machine's range, and Linux's default too, so a machine with a narrower range cannot
    // let a port through that CI's default range would hand out.
    let machine = ephemeral_range();
    let in_range = |port: u16| machine.contains(&port) || DEFAULT_EPHEMERAL.contains(&port);
    let root = repo_root();
    let mut files = Vec::new();
    for entry in SCANNED {
        files_under(&root.join(entry), &mut files);
    }
    assert!(
        files.len() > 50,
        "scanned only {} files: is the repository layout still {SCANNED:?}?",
        files.len()
    );
    let mut offenders = Vec::new();
    let mut seen = 0;
    for file in &files {
        // This file's own examples of what the scanner must catch.
        if file.ends_with("devstack/tests/fixed_ports.rs") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (number, line) in text.lines().enumerate() {
            for port in ports_in(line) {
                seen += 1;
                if in_range(port) {
                    let shown = file.strip_prefix(&root).unwrap_or(file).display();
                    offenders.push(format!("{shown}:{}: port {port}", number + 1));
                }
            }
        }
    }
    assert!(
        seen >= 8,
        "found only {seen} fixed ports: the scanner lost its way"
    );
    assert!(
        offenders.is_empty(),
        "fixed ports inside the ephemeral range ({machine:?}, Linux default {DEFAULT_EPHEMERAL:?}); \
         use ports below {} (devstack::ports) instead:\n{}",
        POOL.start(),
        offenders.join("\n")
    );
}

#[test]
fn the_pool_of_test_ports_is_below_the_default_ephemeral_range() {
    assert!(POOL.end() < DEFAULT_EPHEMERAL.start());
}
