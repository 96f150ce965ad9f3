//! Imports run one way: no module of `src/` uses a module that uses it back, directly or
//! through others. A module is a file (`behaviour/call.rs` is `behaviour::call`); a use is a
//! `crate::` or `super::` path in its code (comments and the `#[cfg(test)]` part left out), or
//! a path through a child module it declares. `lib.rs`, which only declares and re-exports, and
//! the binary are not modules here.
//!
//! `cargo test -p crisp-sandbox --test imports` prints the graph with `--nocapture`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn no_module_uses_one_that_uses_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    read_dir(&src, &src, &mut files);
    let graph = graph(&files);
    for (module, uses) in &graph {
        println!(
            "{module} -> {}",
            Vec::from_iter(uses.iter().cloned()).join(", ")
        );
    }
    // The reading sees the edges it should (or this test would prove nothing).
    for (from, to) in [
        ("api", "app"),
        ("generated::routes", "route"),
        ("behaviour", "behaviour::messages"),
        ("behaviour::messages", "behaviour::call"),
        ("table", "generated::routes"),
    ] {
        assert!(
            graph.get(from).is_some_and(|uses| uses.contains(to)),
            "{from} -> {to} not found: the reading of imports is broken"
        );
    }
    if let Some(cycle) = cycle(&graph) {
        panic!("imports run in a circle: {}", cycle.join(" -> "));
    }
}

#[test]
fn a_circle_is_found() {
    let files = [
        ("a.rs", "use crate::b::Thing;\n"),
        ("b.rs", "use crate::{c, d::More};\n"),
        (
            "c.rs",
            "// use crate::a;\nfn f() {}\n#[cfg(test)]\nmod tests { use crate::a; }\n",
        ),
        ("d.rs", "mod e;\nfn f() { e::go() }\n"),
        ("d/e.rs", "use super::super::a;\n"),
    ]
    .map(|(path, text)| (module_of(Path::new(path)), text.to_owned()));
    let graph = graph(&files);
    assert!(graph["c"].is_empty(), "comments and tests are not uses");
    assert_eq!(
        cycle(&graph).unwrap(),
        ["a", "b", "d", "d::e", "a"],
        "{graph:?}"
    );
}

fn read_dir(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            read_dir(root, &path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).unwrap();
            if relative != Path::new("lib.rs") && relative != Path::new("main.rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                files.push((module_of(relative), text));
            }
        }
    }
}

/// `behaviour/call.rs` as `behaviour::call`, `behaviour/mod.rs` as `behaviour`.
fn module_of(relative: &Path) -> String {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// Which modules each module uses.
fn graph(files: &[(String, String)]) -> Graph {
    let modules: BTreeSet<&str> = files.iter().map(|(m, _)| m.as_str()).collect();
    let mut graph = Graph::new();
    for (module, text) in files {
        let code = code_of(text);
        let here: Vec<&str> = module.split("::").collect();
        let mut uses = BTreeSet::new();
        for (base, path) in paths(&code, &here) {
            if let Some(target) = resolve(&modules, &base, &path)
                && target != *module
            {
                uses.insert(target);
            }
        }
        graph.insert(module.clone(), uses);
    }
    graph
}

/// The code of a file: no comment lines, nothing from `#[cfg(test)]` on.
fn code_of(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            break;
        }
        if !trimmed.starts_with("//") {
            code.push_str(line);
            code.push('\n');
        }
    }
    code
}

/// Every path the code names from the crate root or a parent (`crate::`, `super::`), and
/// through each child module it declares (`mod x;` then `x::`), as (base module, segments).
fn paths(code: &str, here: &[&str]) -> Vec<(Vec<String>, Vec<String>)> {
    let mut found = Vec::new();
    let children: Vec<String> = code
        .lines()
        .filter_map(|l| {
            let l = l.trim().strip_prefix("pub ").unwrap_or(l.trim());
            let name = l.strip_prefix("mod ")?.strip_suffix(';')?;
            Some(name.trim().to_owned())
        })
        .collect();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        let before_ok = i == 0
            || !(bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b':');
        let rest = &code[i..];
        if before_ok && let Some(after) = rest.strip_prefix("crate::") {
            for path in use_tree(after) {
                found.push((Vec::new(), path));
            }
        } else if before_ok && rest.starts_with("super::") {
            let mut base: Vec<String> = here.iter().map(|s| (*s).to_owned()).collect();
            let mut after = rest;
            while let Some(next) = after.strip_prefix("super::") {
                base.pop();
                after = next;
            }
            for path in use_tree(after) {
                found.push((base.clone(), path));
            }
        } else if before_ok {
            for child in &children {
                if let Some(after) = rest.strip_prefix(child.as_str())
                    && after.starts_with("::")
                {
                    let mut base: Vec<String> = here.iter().map(|s| (*s).to_owned()).collect();
                    base.push(child.clone());
                    found.push((base, Vec::new()));
                }
            }
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    found
}

/// The paths of a use tree such as `a::b`, `{a, b::{c, d}}` or `a::*`.
fn use_tree(text: &str) -> Vec<Vec<String>> {
    let text = text.trim_start();
    if let Some(inner) = text.strip_prefix('{') {
        let mut paths = Vec::new();
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    paths.extend(use_tree(&inner[start..i]));
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    paths.extend(use_tree(&inner[start..i]));
                    start = i + 1;
                }
                _ => {}
            }
        }
        return paths;
    }
    let ident: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if ident.is_empty() {
        return vec![Vec::new()];
    }
    match text[ident.len()..].strip_prefix("::") {
        Some(rest) => use_tree(rest)
            .into_iter()
            .map(|mut path| {
                path.insert(0, ident.clone());
                path
            })
            .collect(),
        None => vec![vec![ident]],
    }
}

/// The module a path from `base` lands in: its longest prefix that is a module, else `base`
/// itself (`super::Item`). `None` for the crate root.
fn resolve(modules: &BTreeSet<&str>, base: &[String], path: &[String]) -> Option<String> {
    for len in (0..=path.len()).rev() {
        let mut full: Vec<&str> = base.iter().map(String::as_str).collect();
        full.extend(path[..len].iter().map(String::as_str));
        let name = full.join("::");
        if !name.is_empty() && modules.contains(name.as_str()) {
            return Some(name);
        }
    }
    None
}

/// A circle of uses, from a module back to itself, if there is one.
fn cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        graph: &Graph,
        module: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| m == module) {
            let mut circle = path[at..].to_vec();
            circle.push(module.to_owned());
            return Some(circle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(circle) = visit(graph, next, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|module| visit(graph, module, &mut Vec::new(), &mut done))
}
