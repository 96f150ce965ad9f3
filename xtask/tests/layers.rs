//! `cargo xtask layers` on small workspaces written to a temp dir: a cycle made through a
//! `pub use` re-export is found and shown with its imports; re-exports, `mod` declarations,
//! `use super::*` and code inside `quote!` make no cycle of their own; the exit status says
//! which. And the xtask itself has no cycle.

use std::path::{Path, PathBuf};
use std::process::Command;

use xtask::layers::{Edge, Options, Report, check_workspace};

/// A workspace of two crates in a fresh temp dir, removed when dropped.
struct Workspace {
    root: PathBuf,
}

impl Workspace {
    fn new(name: &str) -> Self {
        let root =
            std::env::temp_dir().join(format!("crisp-xtask-layers-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let ws = Self { root };
        ws.write(
            "Cargo.toml",
            "[workspace]\nmembers = [\"looped\", \"layered\"]\nresolver = \"2\"\n",
        );
        for package in ["looped", "layered"] {
            ws.write(
                &format!("{package}/Cargo.toml"),
                &format!(
                    "[package]\nname = \"{package}\"\nversion = \"0.0.0\"\nedition = \"2021\"\n"
                ),
            );
        }
        // a.rs -> b.rs by a path inside `format!`; b.rs -> a.rs through lib.rs's re-export of
        // `Thing`. lib.rs and error.rs are not part of the cycle.
        ws.write(
            "looped/src/lib.rs",
            "mod a;\nmod b;\nmod error;\n\npub use a::{Thing, run};\npub use error::Error;\n",
        );
        ws.write(
            "looped/src/a.rs",
            "pub struct Thing;\n\
             \n\
             pub fn run() -> String {\n\
             \x20   format!(\"{}\", crate::b::helper().is_ok())\n\
             }\n",
        );
        ws.write(
            "looped/src/b.rs",
            "use crate::Thing;\n\
             \n\
             pub fn helper() -> Result<Thing, crate::Error> {\n\
             \x20   Ok(Thing)\n\
             }\n",
        );
        ws.write("looped/src/error.rs", "pub struct Error;\n");
        // Imports that run one way, with everything that could be mistaken for a cycle.
        ws.write(
            "layered/src/lib.rs",
            "mod model;\n\
             mod render;\n\
             pub mod tree;\n\
             \n\
             pub use model::Model;\n\
             pub use render::render;\n\
             \n\
             pub fn entry() -> String {\n\
             \x20   render(&Model)\n\
             }\n\
             \n\
             #[cfg(test)]\n\
             mod tests {\n\
             \x20   use super::*;\n\
             \n\
             \x20   #[test]\n\
             \x20   fn renders() {\n\
             \x20       assert_eq!(entry(), render(&Model));\n\
             \x20   }\n\
             }\n",
        );
        ws.write(
            "layered/src/model.rs",
            "macro_rules! quote {\n\
             \x20   ($($code:tt)*) => { stringify!($($code)*) };\n\
             }\n\
             \n\
             pub struct Model;\n\
             \n\
             /// Code as text, for another crate: not an import.\n\
             pub const TEMPLATE: &str = quote!(crate::render::render(&crate::Model));\n",
        );
        ws.write(
            "layered/src/render.rs",
            "use crate::Model;\n\
             \n\
             pub fn render(_: &Model) -> String {\n\
             \x20   format!(\"{}\", crate::tree::Leaf(crate::tree::Node).0.name())\n\
             }\n",
        );
        ws.write(
            "layered/src/tree/mod.rs",
            "mod leaf;\n\
             \n\
             pub use leaf::Leaf;\n\
             \n\
             pub struct Node;\n\
             \n\
             impl Node {\n\
             \x20   pub fn name(&self) -> &'static str {\n\
             \x20       \"node\"\n\
             \x20   }\n\
             }\n",
        );
        ws.write(
            "layered/src/tree/leaf.rs",
            "use super::Node;\n\npub struct Leaf(pub Node);\n",
        );
        ws
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.root.join(path);
        std::fs::create_dir_all(path.parent().expect("a file in a folder")).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn check(&self, package: &str) -> Report {
        let options = Options {
            packages: vec![package.to_owned()],
            ..Options::default()
        };
        check_workspace(&self.root, &options).expect("the workspace is checked")
    }

    /// Runs `xtask layers --root <this workspace> <args>`: its exit code and output.
    fn run(&self, args: &[&str]) -> (Option<i32>, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .arg("layers")
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .output()
            .expect("xtask runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code(), text)
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[test]
fn a_cycle_through_a_reexport_is_reported_with_the_imports_that_make_it() {
    let ws = Workspace::new("looped");
    let report = ws.check("looped");
    assert!(report.has_cycles(), "{report}");
    let [krate] = report.crates.as_slice() else {
        panic!("one crate target: {report}");
    };
    assert_eq!((krate.kind.as_str(), krate.files), ("lib", 4), "{report}");
    let [cycle] = krate.cycles.as_slice() else {
        panic!("one cycle: {report}");
    };
    // Not lib.rs, although b.rs names `crate::Thing`: the re-export is resolved to a.rs.
    assert_eq!(
        cycle.files,
        [PathBuf::from("a.rs"), PathBuf::from("b.rs")],
        "{report}"
    );
    let edge = |from: &str, to: &str, via: &[(usize, &str)]| Edge {
        from: PathBuf::from(from),
        to: PathBuf::from(to),
        via: via
            .iter()
            .map(|(line, path)| (*line, (*path).to_owned()))
            .collect(),
    };
    assert_eq!(
        cycle.edges,
        [
            edge("a.rs", "b.rs", &[(4, "crate::b::helper")]),
            edge(
                "b.rs",
                "a.rs",
                &[(1, "crate::Thing"), (3, "Thing"), (4, "Thing")]
            ),
        ],
        "{report}"
    );
    let text = report.to_string();
    assert!(text.contains("a.rs -> b.rs -> a.rs"), "{text}");
    assert!(
        text.contains("b.rs -> a.rs  (1: crate::Thing; 3: Thing; 4: Thing)"),
        "{text}"
    );
    assert!(
        report
            .summary()
            .contains("looped lib `looped` (looped/src/lib.rs): 4 module file(s), 1 cycle(s)\n  cycle of 2 files: a.rs, b.rs\n"),
        "{}",
        report.summary()
    );
}

#[test]
fn reexports_mod_declarations_globs_and_quoted_code_make_no_cycle() {
    let ws = Workspace::new("layered");
    let report = ws.check("layered");
    assert!(!report.has_cycles(), "{report}");
    let [krate] = report.crates.as_slice() else {
        panic!("one crate target: {report}");
    };
    assert_eq!(krate.files, 5, "every module file is read: {report}");
    assert!(krate.missing.is_empty(), "{report}");
    assert!(
        report
            .to_string()
            .ends_with("no import cycles in 1 crate target(s): imports run one way\n"),
        "{report}"
    );
}

#[test]
fn the_command_exits_1_on_a_cycle_and_0_without() {
    let ws = Workspace::new("command");
    let (code, out) = ws.run(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("a.rs -> b.rs  (4: crate::b::helper)"), "{out}");
    assert!(
        out.contains("layered lib `layered`"),
        "both packages are checked: {out}"
    );
    let (code, out) = ws.run(&["layered"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = ws.run(&["--summary", "looped"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        !out.contains("crate::b::helper"),
        "the summary leaves out the imports: {out}"
    );
    let (code, out) = ws.run(&["no-such-package"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("no package named `no-such-package`"), "{out}");
    assert!(
        out.contains("layered, looped"),
        "the error lists the packages: {out}"
    );
}

/// Every crate of the workspace, the xtask included: no module imports one that imports it
/// back (issue 12's "imports run one way", held for good).
#[test]
fn no_crate_of_the_workspace_has_an_import_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace");
    let report = check_workspace(root, &Options::default()).expect("the workspace is checked");
    for package in ["crisp-api", "crisp-sandbox", "crisp-mcp", "xtask"] {
        assert!(
            report
                .crates
                .iter()
                .any(|c| c.package == package && c.kind == "lib" && c.files > 10),
            "{package}'s library and its modules are read: {report}"
        );
    }
    assert!(
        !report.has_cycles(),
        "a module imports one that imports it back; run `cargo xtask layers`:\n{report}"
    );
}
