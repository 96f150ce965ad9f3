//! Which module file depends on which: every path a module names (in a `use` or in code) is
//! resolved to the file that defines the item, through `pub use` re-exports and glob imports,
//! so that `crate::Error` re-exported by `lib.rs` counts as a use of `error.rs`, not of
//! `lib.rs`. A parent's `mod child;` is not a use of the child, and a `pub use` is not a use of
//! its item by the module that re-exports it (unless its own code names the item).

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

use super::modules::{Binding, Module, Tree, Use};

/// How deep a resolution may go through re-exports before it gives up (a `use` loop).
const MAX_DEPTH: usize = 32;
/// How many steps one resolution may take through glob imports before it gives up.
const MAX_STEPS: usize = 10_000;

/// What a path resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// A module itself (`crate::call`): naming a module is not a use of its file.
    Module(usize),
    /// An item defined in this module.
    Item(usize),
    /// A path of the crate that could not be followed to its end (a name a macro defines,
    /// say): the deepest module reached, where the name must live.
    Within(usize),
}

/// One reason for an edge: the line of the `from` file and the path it names there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Evidence {
    pub line: usize,
    pub path: String,
}

/// The dependencies between a crate's module files: `(from, to)` file indexes of
/// [`Tree::files`] -> the places that make the edge. No file depends on itself here.
pub(crate) type Edges = BTreeMap<(usize, usize), BTreeSet<Evidence>>;

/// Every dependency between the module files of `tree`.
pub(crate) fn edges(tree: &Tree) -> Edges {
    let mut edges = Edges::new();
    let resolver = Resolver {
        tree,
        steps: Cell::new(0),
    };
    for (index, module) in tree.modules.iter().enumerate() {
        let from = module.file;
        let mut add = |to_module: usize, line: usize, path: &[String]| {
            let to = tree.modules[to_module].file;
            if to != from {
                edges.entry((from, to)).or_default().insert(Evidence {
                    line,
                    path: path.join("::"),
                });
            }
        };
        for u in &module.uses {
            match u.binds {
                // A re-export: a use only if the module's own code names it (below).
                Binding::Name(_) | Binding::Glob if u.public => {}
                Binding::Glob => {
                    if let Some(Target::Module(m)) = resolver.resolve(index, &u.path, 0) {
                        add(m, u.line, &u.path);
                        let mut seen = BTreeSet::new();
                        for target in resolver.reexported(m, &mut seen) {
                            add(target, u.line, &u.path);
                        }
                    }
                }
                Binding::Name(_) | Binding::Hidden => {
                    if let Some(Target::Item(m) | Target::Within(m)) =
                        resolver.resolve(index, &u.path, 0)
                    {
                        add(m, u.line, &u.path);
                    }
                }
            }
        }
        for named in &module.paths {
            if let Some(Target::Item(m) | Target::Within(m)) =
                resolver.resolve(index, &named.path, 0)
            {
                add(m, named.line, &named.path);
            }
        }
    }
    edges
}

/// Name resolution over a [`Tree`], as far as a module graph needs it.
struct Resolver<'t> {
    tree: &'t Tree,
    /// Steps taken by the current resolution (see [`MAX_STEPS`]).
    steps: Cell<usize>,
}

impl Resolver<'_> {
    fn module(&self, index: usize) -> &Module {
        &self.tree.modules[index]
    }

    /// Resolves `path` as written in module `from`. `None`: not a path of this crate (another
    /// crate, the prelude, a local variable).
    fn resolve(&self, from: usize, path: &[String], depth: usize) -> Option<Target> {
        if depth == 0 {
            self.steps.set(0);
        }
        self.steps.set(self.steps.get() + 1);
        if depth > MAX_DEPTH || self.steps.get() > MAX_STEPS {
            return None;
        }
        let first = path.first()?;
        match first.as_str() {
            "::" | "$crate" => None,
            "crate" => Some(self.walk(0, &path[1..], depth)),
            "self" => Some(self.walk(from, &path[1..], depth)),
            "super" => {
                let mut module = from;
                let mut rest = path;
                while rest.first().map(String::as_str) == Some("super") {
                    module = self.module(module).parent?;
                    rest = &rest[1..];
                }
                Some(self.walk(module, rest, depth))
            }
            // A name in scope in `from`, or nothing of this crate.
            _ => {
                let target = self.walk(from, path, depth);
                (target != Target::Within(from)).then_some(target)
            }
        }
    }

    /// Follows `rest` from `module`. A name that cannot be followed is taken to live in the
    /// module reached ([`Target::Within`]); [`Resolver::resolve`] decides what that means.
    fn walk(&self, module: usize, rest: &[String], depth: usize) -> Target {
        let Some((name, tail)) = rest.split_first() else {
            return Target::Module(module);
        };
        let here = self.module(module);
        if let Some(child) = here.children.get(name) {
            return self.walk(*child, tail, depth);
        }
        if here.items.contains(name) {
            return Target::Item(module);
        }
        for u in &here.uses {
            if u.binds == Binding::Name(name.clone()) {
                // Don't follow a `use x;` back into itself.
                if u.path.as_slice() == [name.clone()] {
                    continue;
                }
                let mut path = u.path.clone();
                path.extend_from_slice(tail);
                if let Some(target) = self.resolve(module, &path, depth + 1) {
                    return target;
                }
            }
        }
        for u in here.uses.iter().filter(|u| u.binds == Binding::Glob) {
            if let Some(Target::Module(m)) = self.resolve(module, &u.path, depth + 1) {
                match self.walk(m, rest, depth + 1) {
                    Target::Within(w) if w == m => {}
                    found => return found,
                }
            }
        }
        Target::Within(module)
    }

    /// The modules whose items `module` re-exports (`pub use`), through further re-exports:
    /// what a glob import of `module` brings into scope besides its own items.
    fn reexported(&self, module: usize, seen: &mut BTreeSet<usize>) -> Vec<usize> {
        if !seen.insert(module) {
            return Vec::new();
        }
        let mut out = Vec::new();
        let public: Vec<&Use> = self
            .module(module)
            .uses
            .iter()
            .filter(|u| u.public)
            .collect();
        for u in public {
            match (self.resolve(module, &u.path, 0), &u.binds) {
                (Some(Target::Module(m)), Binding::Glob) => {
                    out.push(m);
                    out.extend(self.reexported(m, seen));
                }
                (Some(Target::Item(m) | Target::Within(m)), _) => out.push(m),
                _ => {}
            }
        }
        out
    }
}
