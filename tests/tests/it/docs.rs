//! The documents the code cites live in this repository and have the sections the citations name.
//!
//! Comments, scripts and templates point readers at `docs/<name>.md#<section>` (and at
//! `README.md#<section>` or `SECURITY.md#<section>`). The first test resolves every such
//! reference, and every relative link and image of the Markdown files, against the files and
//! their headings (GitHub's anchors), so a renamed heading or a moved section fails here instead
//! of sending the next reader nowhere. The second keeps citations of notes that were never in the
//! repository (the first brief, the team's first TikTok notes) from coming back; the third keeps
//! the README a quick start that links the rest. The whole repository is walked with `std::fs`,
//! so new crates and scripts are covered as they appear.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The repository's root, seen from this crate.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Files read as source: code, scripts, templates, the settings page. Extensionless files count
/// when they start with `#!` (scripts such as `.ci/run`), and so does every `Makefile`.
const SOURCE_EXTENSIONS: [&str; 11] = [
    "rs", "py", "mjs", "js", "ts", "tsx", "sh", "yaml", "yml", "toml", "html",
];

/// Notes that lived outside the repository, by file name (spelled in two halves so that this
/// file does not cite them itself). Cited anywhere in the source, they are an error, unless a
/// file of that name is added at the repository's root.
const OUTSIDE_NOTES: [&str; 3] = [
    concat!("DESIGN", ".md"),
    concat!("TIKTOK_API", ".md"),
    concat!("STYLE", ".md"),
];

/// The README's budget, in bytes: beyond it, something belongs in `docs/`.
const README_BUDGET: usize = 20_000;

/// Directories never walked: build output (cargo's, SAM's, tsc's, Next.js's), virtual
/// environments, dependencies, git's own.
fn skipped(name: &str) -> bool {
    name == "target"
        || name == "node_modules"
        || name == "dist"
        || name == ".next"
        || name == ".git"
        || name == ".aws-sam"
        || name.starts_with(".venv")
}

/// Every regular file under `dir`, symbolic links left out; unreadable directories are skipped.
fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            if !skipped(&entry.file_name().to_string_lossy()) {
                walk(&path, found);
            }
        } else if kind.is_file() {
            found.push(path);
        }
    }
}

/// `path` relative to the repository's root, for messages.
fn relative(path: &Path) -> String {
    path.strip_prefix(ROOT)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Every source file of the repository, as (path from the root, text), in path order.
fn sources() -> Vec<(String, String)> {
    let mut files = Vec::new();
    walk(Path::new(ROOT), &mut files);
    files.sort();
    let mut sources = Vec::new();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let extension = path.extension().and_then(|e| e.to_str());
        let makefile = name == "Makefile";
        let wanted = makefile || extension.is_none_or(|e| SOURCE_EXTENSIONS.contains(&e));
        if !wanted {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if extension.is_none() && !makefile && !text.starts_with("#!") {
            continue;
        }
        sources.push((relative(&path), text));
    }
    assert!(
        !sources.is_empty(),
        "no source file found under {ROOT}: the walk is broken"
    );
    sources
}

/// The Markdown files whose links are checked: those at the root and those in `docs/`.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [Path::new(ROOT).to_path_buf(), Path::new(ROOT).join("docs")] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let markdown = path.extension().is_some_and(|e| e == "md");
            if markdown && entry.file_type().is_ok_and(|t| t.is_file()) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A character of a file name or an anchor as the citations write them.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// The leading name characters of `text`.
fn name_at(text: &str) -> &str {
    let end = text.find(|c: char| !is_name_char(c)).unwrap_or(text.len());
    &text[..end]
}

/// Whether a path starts at byte `at` of `text`, rather than inside another word, URL or path:
/// `mydocs/<name>.md` and `https://example.com/docs/<name>.md` are not the repository's,
/// `../../docs/<name>.md` and `./docs/<name>.md` are.
fn starts_a_path(text: &str, at: usize) -> bool {
    let before = &text[..at];
    match before.chars().next_back() {
        None => true,
        Some('/') => before.ends_with("./"),
        Some(c) => !is_name_char(c) && c != '.',
    }
}

/// A reference to one of the repository's documents in source text.
struct Citation {
    /// The document, from the root: `docs/<name>.md`, `README.md` or `SECURITY.md`.
    doc: String,
    /// The section, when one is named.
    anchor: Option<String>,
}

/// Every `docs/<name>.md[#<anchor>]`, `README.md#<anchor>` and `SECURITY.md#<anchor>` in `text`.
fn citations(text: &str) -> Vec<Citation> {
    let mut found = Vec::new();
    for prefix in ["docs/", "README.md", "SECURITY.md"] {
        for (at, _) in text.match_indices(prefix) {
            if !starts_a_path(text, at) {
                continue;
            }
            let mut rest = &text[at + prefix.len()..];
            let doc = if prefix == "docs/" {
                let name = name_at(rest);
                let Some(after) = rest[name.len()..].strip_prefix(".md") else {
                    continue;
                };
                if name.is_empty() {
                    continue;
                }
                rest = after;
                format!("docs/{name}.md")
            } else {
                prefix.to_owned()
            };
            let anchor = rest
                .strip_prefix('#')
                .map(name_at)
                .filter(|a| !a.is_empty())
                .map(str::to_owned);
            // A README or SECURITY mention without a section names a file that is there.
            if prefix != "docs/" && anchor.is_none() {
                continue;
            }
            found.push(Citation { doc, anchor });
        }
    }
    found
}

/// Whether `line` opens or closes a fenced code block.
fn is_fence(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("```") || line.starts_with("~~~")
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, every other character but letters,
/// digits, `-` and `_` dropped.
fn slug(title: &str) -> String {
    title
        .to_lowercase()
        .chars()
        .filter_map(|c| {
            if c == ' ' {
                Some('-')
            } else if c.is_alphanumeric() || c == '-' || c == '_' {
                Some(c)
            } else {
                None
            }
        })
        .collect()
}

/// The anchors of a Markdown text's headings (outside code blocks), repeated titles numbered
/// `-1`, `-2`, … as GitHub numbers them.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut anchors = BTreeSet::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if is_fence(line) {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let level = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&level) {
            continue;
        }
        let Some(title) = line[level..].strip_prefix(' ') else {
            continue;
        };
        let id = slug(title.trim().trim_end_matches('#').trim());
        let count = seen.entry(id.clone()).or_insert(0);
        if *count == 0 {
            anchors.insert(id);
        } else {
            anchors.insert(format!("{id}-{count}"));
        }
        *count += 1;
    }
    anchors
}

/// The anchors of the Markdown file at `path`, or `None` when it cannot be read.
fn anchors_of(path: &Path) -> Option<BTreeSet<String>> {
    std::fs::read_to_string(path)
        .ok()
        .map(|text| anchors(&text))
}

/// Every local target of a Markdown text's links and images, outside code blocks: what follows
/// `](` up to `)`, and what follows `src="` up to `"`; web addresses left out.
fn link_targets(markdown: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if is_fence(line) {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        for (open, close) in [("](", ')'), ("src=\"", '"')] {
            for (at, _) in line.match_indices(open) {
                let rest = &line[at + open.len()..];
                let Some(end) = rest.find(close) else {
                    continue;
                };
                let target = &rest[..end];
                if !target.contains("://") && !target.starts_with("mailto:") {
                    targets.push(target.to_owned());
                }
            }
        }
    }
    targets
}

#[test]
fn every_docs_citation_in_the_code_resolves() {
    let root = Path::new(ROOT);
    let mut problems = Vec::new();
    for (file, text) in sources() {
        for citation in citations(&text) {
            let Citation { doc, anchor } = citation;
            let path = root.join(&doc);
            if !path.is_file() {
                problems.push(format!("{file}: cites {doc}, which does not exist"));
                continue;
            }
            let Some(anchor) = anchor else {
                continue;
            };
            let known = anchors_of(&path).unwrap_or_default();
            if !known.contains(&anchor) {
                problems.push(format!(
                    "{file}: cites {doc}#{anchor}, but {doc} has no heading with that anchor"
                ));
            }
        }
    }
    for markdown in markdown_files() {
        let name = relative(&markdown);
        let text = std::fs::read_to_string(&markdown).expect("a Markdown file of the repository");
        let dir = markdown.parent().unwrap_or(root);
        for target in link_targets(&text) {
            let (file, anchor) = target.split_once('#').unwrap_or((target.as_str(), ""));
            let path = if file.is_empty() {
                markdown.clone()
            } else {
                dir.join(file)
            };
            if !path.exists() {
                problems.push(format!("{name}: links {target}, which does not exist"));
                continue;
            }
            let is_markdown = path.extension().is_some_and(|e| e == "md");
            if anchor.is_empty() || !is_markdown {
                continue;
            }
            let known = anchors_of(&path).unwrap_or_default();
            if !known.contains(anchor) {
                problems.push(format!(
                    "{name}: links {target}, but {file} has no heading with the anchor {anchor}"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "citations and links that lead nowhere (fix the reference, or write the section):\n{}",
        problems.join("\n")
    );
}

#[test]
fn no_comment_cites_a_file_outside_the_repository() {
    let root = Path::new(ROOT);
    let outside: Vec<&str> = OUTSIDE_NOTES
        .iter()
        .copied()
        .filter(|name| !root.join(name).exists())
        .collect();
    let mut problems = Vec::new();
    for (file, text) in sources() {
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            for name in &outside {
                if line.contains(name) {
                    problems.push(format!(
                        "{file}:{number}: cites {name}, which is not in this repository: {}",
                        line.trim()
                    ));
                }
            }
            if cites_a_bare_section(line) {
                problems.push(format!(
                    "{file}:{number}: cites a numbered section of no named document: {}",
                    line.trim()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "cite the repository's own docs instead (docs/tiktok.md, docs/deploy.md, …, with the \
         section's anchor):\n{}",
        problems.join("\n")
    );
}

/// Whether `line` has a section sign followed by a digit with no RFC named just before it: the
/// form the old notes were cited in (RFCs are cited that way too, and stay).
fn cites_a_bare_section(line: &str) -> bool {
    line.match_indices('\u{a7}').any(|(at, sign)| {
        let numbered = line[at + sign.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit());
        let start = line[..at]
            .char_indices()
            .rev()
            .nth(23)
            .map_or(0, |(i, _)| i);
        numbered && !line[start..at].contains("RFC")
    })
}

#[test]
fn the_readme_stays_a_quick_start() {
    let root = Path::new(ROOT);
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let size = readme.len();
    assert!(
        size < README_BUDGET,
        "README.md has {size} bytes, over its budget of {README_BUDGET}: move a section to docs/ \
         and leave a one-line link behind"
    );
    let docs: Vec<String> = markdown_files()
        .iter()
        .filter(|path| path.parent().is_some_and(|dir| dir.ends_with("docs")))
        .filter_map(|path| path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert!(!docs.is_empty(), "docs/ holds no Markdown file");
    let unlinked: Vec<&String> = docs
        .iter()
        .filter(|name| {
            !readme.contains(&format!("](docs/{name})"))
                && !readme.contains(&format!("](docs/{name}#"))
        })
        .collect();
    assert!(
        unlinked.is_empty(),
        "README.md links no docs/{unlinked:?}: a newcomer would not find them"
    );
}

/// The folders whose files the documents name by path (`shared/domain/src/refresh.rs`, …).
const CODE_FOLDERS: [&str; 9] = [
    "shared/",
    "functions/",
    "tests/",
    "devstack/",
    "fake-tiktok/",
    "scripts/",
    "infra/",
    "events/",
    "clients/",
];

/// Every `folder/…/file.ext` a text names, where `folder` is one of `CODE_FOLDERS` at a word's
/// start and the name ends in an extension (so `shared/` alone or a prose "tests/" is skipped).
fn named_paths(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for folder in CODE_FOLDERS {
        let mut from = 0;
        while let Some(offset) = text[from..].find(folder) {
            let at = from + offset;
            from = at + folder.len();
            let starts_a_word = text[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '/' || c == '.'));
            if !starts_a_word {
                continue;
            }
            let path: String = text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.'))
                .collect();
            let path = path.trim_end_matches('.');
            let file = path.rsplit('/').next().unwrap_or_default();
            if file.contains('.') && !path.contains('*') && !path.contains("..") {
                found.push(path.to_owned());
            }
        }
    }
    found
}

/// The documents name source files by path; a file that moved (a crate split, a rename) must not
/// leave them pointing at nothing. Checked in the Markdown files and the templates' comments.
#[test]
fn every_file_the_documents_name_exists() {
    let root = Path::new(ROOT);
    let mut documents = markdown_files();
    documents.push(root.join("infra/template.yaml"));
    documents.push(root.join("infra/permissions.yaml"));
    documents.push(root.join("infra/openapi.yaml"));
    let mut problems = Vec::new();
    let mut checked = 0;
    for document in documents {
        let text = std::fs::read_to_string(&document).expect("a document of the repository");
        for path in named_paths(&text) {
            checked += 1;
            if !root.join(&path).exists() {
                problems.push(format!(
                    "{}: names {path}, which does not exist",
                    relative(&document)
                ));
            }
        }
    }
    assert!(
        checked >= 20,
        "only {checked} paths found: the scan is broken"
    );
    assert!(
        problems.is_empty(),
        "files the documents name that are not in the repository:\n{}",
        problems.join("\n")
    );
}

#[test]
fn named_paths_are_read_as_written() {
    let text = "see `shared/domain/src/refresh.rs::a_test`, shared/ alone, tests/ and \
                (functions/console/console.html). Not xshared/a.rs, nor infra/*.yaml.";
    assert_eq!(
        named_paths(text),
        [
            "shared/domain/src/refresh.rs",
            "functions/console/console.html"
        ]
    );
}
