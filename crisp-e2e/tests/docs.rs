//! The README and the pages under `docs/` lead somewhere: every relative link names a file or
//! folder of the repository, and every `#anchor` a heading of the page it points into (as
//! GitHub derives anchors from headings). The README stays a front door: a few screens.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crisp-e2e lives in the workspace")
        .to_path_buf()
}

/// The README and every Markdown page under `docs/`.
fn pages() -> Vec<PathBuf> {
    let root = root();
    let mut pages = vec![root.join("README.md"), root.join("CHANGELOG.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("a docs folder")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// The lines of `text` outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// Every `](target)` of the prose.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in prose(text) {
        let mut rest = line;
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, punctuation other than `-` and
/// `_` dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown page's headings.
fn anchors(text: &str) -> BTreeSet<String> {
    prose(text)
        .into_iter()
        .filter_map(|line| {
            let hashes = line.chars().take_while(|c| *c == '#').count();
            (1..=6)
                .contains(&hashes)
                .then(|| line[hashes..].strip_prefix(' '))
                .flatten()
                .map(|heading| anchor(&heading.replace('`', "")))
        })
        .collect()
}

#[test]
fn every_relative_link_leads_to_a_file_and_every_anchor_to_a_heading() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("a readable page");
        for link in links(&text) {
            if link.starts_with("http://")
                || link.starts_with("https://")
                || link.starts_with("mailto:")
            {
                continue;
            }
            let (file, fragment) = match link.split_once('#') {
                Some((file, fragment)) => (file, Some(fragment)),
                None => (link.as_str(), None),
            };
            let target = if file.is_empty() {
                page.clone()
            } else {
                page.parent().expect("a folder").join(file)
            };
            if !target.exists() {
                broken.push(format!("{}: `{link}`: no such file", page.display()));
                continue;
            }
            if let Some(fragment) = fragment {
                let target_text = std::fs::read_to_string(&target).unwrap_or_default();
                if !anchors(&target_text).contains(fragment) {
                    broken.push(format!(
                        "{}: `{link}`: no heading with the anchor `{fragment}`",
                        page.display()
                    ));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_readme_is_a_front_door_with_the_two_commands() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("a README");
    let lines = readme.lines().count();
    assert!(
        lines <= 250,
        "the README is {lines} lines: keep it a front door and move the rest to docs/"
    );
    for command in ["cargo run --example quickstart", "cargo test --workspace"] {
        assert!(readme.contains(command), "the README names `{command}`");
    }
}

#[test]
fn no_hidden_doctest_lines_show_in_rendered_markdown() {
    let mut found = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("a readable page");
        let mut rust = false;
        for (number, line) in text.lines().enumerate() {
            if let Some(info) = line.trim_start().strip_prefix("```") {
                rust = !rust && info.starts_with("rust");
                continue;
            }
            if rust && (line.starts_with("# ") || line == "#") {
                found.push(format!("{}:{}: {line}", page.display(), number + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "rustdoc's hidden lines render as code on GitHub; write whole examples instead:\n{}",
        found.join("\n")
    );
}

#[test]
fn anchors_are_derived_as_github_derives_them() {
    assert_eq!(anchor("The environment"), "the-environment");
    assert_eq!(
        anchor("Over HTTP, and Crisp's Hugo as a client"),
        "over-http-and-crisps-hugo-as-a-client"
    );
    assert_eq!(anchor("Sandbox: a local Crisp"), "sandbox-a-local-crisp");
}
