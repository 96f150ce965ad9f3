//! The module tree of one crate, read from its files with `syn`: for every module (a file, or an
//! inline `mod { }` inside one), the names it defines, its child modules, the `use` declarations
//! it holds and the paths its code names. Nothing here decides what depends on what; that is
//! [`super::graph`]'s job.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::ext::IdentExt as _;
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};

use crate::Error;

/// Macros whose input is code to be written elsewhere, not code of this crate: paths inside
/// them are never read as paths of the crate.
const QUOTING_MACROS: [&str; 5] = [
    "quote",
    "quote_spanned",
    "parse_quote",
    "parse_quote_spanned",
    "format_ident",
];

/// The modules of one crate, and the files they live in.
#[derive(Debug)]
pub(crate) struct Tree {
    /// Every module file, in the order they were found; `files[0]` is the crate root.
    pub files: Vec<PathBuf>,
    /// Every module; `modules[0]` is the crate root.
    pub modules: Vec<Module>,
    /// `mod` declarations whose file could not be found.
    pub missing: Vec<Missing>,
}

/// A `mod name;` whose file could not be found: its module is not checked.
#[derive(Debug)]
pub(crate) struct Missing {
    /// The index in [`Tree::files`] of the file that declares it.
    pub file: usize,
    /// The line of the declaration.
    pub line: usize,
    /// The module's name.
    pub name: String,
}

/// One module: a file, or an inline `mod name { ... }` inside one.
#[derive(Debug, Default)]
pub(crate) struct Module {
    /// The index in [`Tree::files`] of the file that holds it.
    pub file: usize,
    /// The enclosing module (`None` for the crate root).
    pub parent: Option<usize>,
    /// Child modules by name, inline ones included.
    pub children: BTreeMap<String, usize>,
    /// Names of the other items it defines: types, functions, constants, traits, macros.
    pub items: BTreeSet<String>,
    /// Its `use` declarations, those inside function bodies included.
    pub uses: Vec<Use>,
    /// The paths its code names, outside `use` declarations.
    pub paths: Vec<Named>,
}

/// One leaf of a `use` declaration.
#[derive(Debug, Clone)]
pub(crate) struct Use {
    /// The path it imports, as written (`["crate", "error", "Error"]`); for a glob, the path of
    /// the module whose names it imports. A path from the extern prelude (`::serde::X`) starts
    /// with `"::"`.
    pub path: Vec<String>,
    /// What it puts in scope.
    pub binds: Binding,
    /// `pub`, `pub(crate)`, `pub(super)` or `pub(in ...)`: a re-export, which is not by itself a
    /// use of the item by this module.
    pub public: bool,
    /// The line it is on, for the report.
    pub line: usize,
}

/// What a `use` leaf puts in scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Binding {
    /// One name (the last segment, or its `as` rename).
    Name(String),
    /// Every public name of a module (`*`).
    Glob,
    /// Nothing nameable (`as _`): a trait brought in for its methods.
    Hidden,
}

/// A path named in code, outside `use` declarations.
#[derive(Debug, Clone)]
pub(crate) struct Named {
    /// Its segments (`["crate", "call", "send"]`).
    pub path: Vec<String>,
    /// The line it is on.
    pub line: usize,
}

impl Tree {
    /// Reads the crate whose root file is `root`, following every `mod name;` to its file.
    /// A file that cannot be read or parsed is an error; a `mod` whose file does not exist is
    /// recorded in [`Tree::missing`].
    pub(crate) fn read(root: &Path) -> Result<Tree, Error> {
        let mut tree = Tree {
            files: Vec::new(),
            modules: Vec::new(),
            missing: Vec::new(),
        };
        let dir = root.parent().unwrap_or(Path::new("")).to_path_buf();
        tree.read_file(root, None, None, dir)?;
        Ok(tree)
    }

    /// Reads one module file as a new module of `parent` named `name`, whose child modules'
    /// files are in `child_dir`.
    fn read_file(
        &mut self,
        path: &Path,
        parent: Option<usize>,
        name: Option<&str>,
        child_dir: PathBuf,
    ) -> Result<usize, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error(format!("cannot read {}: {e}", path.display())))?;
        let file = syn::parse_file(&text).map_err(|e| {
            let at = e.span().start();
            Error(format!(
                "cannot parse {}:{}:{}: {e}",
                path.display(),
                at.line,
                at.column + 1
            ))
        })?;
        self.files.push(path.to_path_buf());
        let file_index = self.files.len() - 1;
        let module = self.new_module(file_index, parent, name);
        self.read_items(module, &file.items, &child_dir, true)?;
        Ok(module)
    }

    fn new_module(&mut self, file: usize, parent: Option<usize>, name: Option<&str>) -> usize {
        self.modules.push(Module {
            file,
            parent,
            ..Module::default()
        });
        let index = self.modules.len() - 1;
        if let (Some(parent), Some(name)) = (parent, name) {
            self.modules[parent].children.insert(name.to_owned(), index);
        }
        index
    }

    /// Records the items of one module. `top_of_file` is false inside an inline module, where
    /// `#[path]` is relative to the inline module's folder rather than to the file's.
    fn read_items(
        &mut self,
        module: usize,
        items: &[syn::Item],
        child_dir: &Path,
        top_of_file: bool,
    ) -> Result<(), Error> {
        for item in items {
            match item {
                syn::Item::Mod(m) => self.read_mod(module, m, child_dir, top_of_file)?,
                syn::Item::Use(u) => {
                    let public = is_public(&u.vis);
                    let mut prefix = Vec::new();
                    if u.leading_colon.is_some() {
                        prefix.push("::".to_owned());
                    }
                    use_leaves(&u.tree, &mut prefix, public, &mut self.modules[module].uses);
                }
                syn::Item::Macro(m) if m.ident.is_some() => {
                    // A `macro_rules!` definition: its body is a template, not code.
                    let name = m.ident.as_ref().map(|i| i.unraw().to_string());
                    let exported = m.attrs.iter().any(|a| a.path().is_ident("macro_export"));
                    let target = if exported { 0 } else { module };
                    self.modules[target].items.extend(name);
                }
                other => {
                    if let Some(name) = item_name(other) {
                        self.modules[module].items.insert(name);
                    }
                    let m = &mut self.modules[module];
                    let mut collector = Collector {
                        paths: &mut m.paths,
                        uses: &mut m.uses,
                    };
                    collector.visit_item(other);
                }
            }
        }
        Ok(())
    }

    fn read_mod(
        &mut self,
        module: usize,
        m: &syn::ItemMod,
        child_dir: &Path,
        top_of_file: bool,
    ) -> Result<(), Error> {
        let name = m.ident.unraw().to_string();
        let path_attr = m.attrs.iter().find_map(path_attribute);
        if let Some((_, items)) = &m.content {
            let file = self.modules[module].file;
            let inner = self.new_module(file, Some(module), Some(&name));
            let dir = match &path_attr {
                Some(p) => child_dir.join(p),
                None => child_dir.join(&name),
            };
            return self.read_items(inner, items, &dir, false);
        }
        let candidates = match &path_attr {
            Some(p) if top_of_file => {
                let own = &self.files[self.modules[module].file];
                vec![own.parent().unwrap_or(Path::new("")).join(p)]
            }
            Some(p) => vec![child_dir.join(p)],
            None => vec![
                child_dir.join(format!("{name}.rs")),
                child_dir.join(&name).join("mod.rs"),
            ],
        };
        let Some(found) = candidates.iter().find(|c| c.is_file()) else {
            self.missing.push(Missing {
                file: self.modules[module].file,
                line: m.ident.span().start().line,
                name,
            });
            return Ok(());
        };
        // A `mod.rs` (or a file named by `#[path]`) owns its folder; `name.rs` owns `name/`.
        let owns_folder = path_attr.is_some() || found.file_name() == Some("mod.rs".as_ref());
        let dir = if owns_folder {
            found.parent().unwrap_or(Path::new("")).to_path_buf()
        } else {
            found.with_extension("")
        };
        let found = found.clone();
        self.read_file(&found, Some(module), Some(&name), dir)?;
        Ok(())
    }
}

/// `pub`, `pub(crate)`, `pub(super)`, `pub(in path)`; not `pub(self)` nor nothing.
fn is_public(vis: &syn::Visibility) -> bool {
    match vis {
        syn::Visibility::Public(_) => true,
        syn::Visibility::Restricted(r) => !r.path.is_ident("self"),
        syn::Visibility::Inherited => false,
    }
}

/// The value of a `#[path = "..."]` attribute.
fn path_attribute(attr: &syn::Attribute) -> Option<String> {
    let syn::Meta::NameValue(nv) = &attr.meta else {
        return None;
    };
    if !nv.path.is_ident("path") {
        return None;
    }
    match &nv.value {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.value()),
        _ => None,
    }
}

/// The name an item defines in its module's namespace, if it has one.
fn item_name(item: &syn::Item) -> Option<String> {
    let ident = match item {
        syn::Item::Const(i) => &i.ident,
        syn::Item::Enum(i) => &i.ident,
        syn::Item::ExternCrate(i) => i.rename.as_ref().map_or(&i.ident, |(_, r)| r),
        syn::Item::Fn(i) => &i.sig.ident,
        syn::Item::Static(i) => &i.ident,
        syn::Item::Struct(i) => &i.ident,
        syn::Item::Trait(i) => &i.ident,
        syn::Item::TraitAlias(i) => &i.ident,
        syn::Item::Type(i) => &i.ident,
        syn::Item::Union(i) => &i.ident,
        _ => return None,
    };
    Some(ident.unraw().to_string())
}

/// Flattens a `use` tree into its leaves.
fn use_leaves(tree: &syn::UseTree, prefix: &mut Vec<String>, public: bool, out: &mut Vec<Use>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.unraw().to_string());
            use_leaves(&p.tree, prefix, public, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.unraw().to_string();
            let line = n.ident.span().start().line;
            // `use a::b::{self}` imports `a::b` under its own name.
            let (path, binds) = if name == "self" {
                let last = prefix.last().cloned().unwrap_or_default();
                (prefix.clone(), Binding::Name(last))
            } else {
                let mut path = prefix.clone();
                path.push(name.clone());
                (path, Binding::Name(name))
            };
            out.push(Use {
                path,
                binds,
                public,
                line,
            });
        }
        syn::UseTree::Rename(r) => {
            let name = r.ident.unraw().to_string();
            let mut path = prefix.clone();
            if name != "self" {
                path.push(name);
            }
            let binds = match r.rename.unraw().to_string() {
                alias if alias == "_" => Binding::Hidden,
                alias => Binding::Name(alias),
            };
            out.push(Use {
                path,
                binds,
                public,
                line: r.ident.span().start().line,
            });
        }
        syn::UseTree::Glob(g) => out.push(Use {
            path: prefix.clone(),
            binds: Binding::Glob,
            public,
            line: g.star_token.span.start().line,
        }),
        syn::UseTree::Group(g) => {
            for tree in &g.items {
                use_leaves(tree, prefix, public, out);
            }
        }
    }
}

/// Collects the paths named in an item's code, and the `use` declarations inside its blocks.
struct Collector<'a> {
    paths: &'a mut Vec<Named>,
    uses: &'a mut Vec<Use>,
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none()
            && let Some(first) = path.segments.first()
        {
            self.paths.push(Named {
                path: path
                    .segments
                    .iter()
                    .map(|s| s.ident.unraw().to_string())
                    .collect(),
                line: first.ident.span().start().line,
            });
        }
        visit::visit_path(self, path);
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        // A `use` inside a function body: private to that block, but an import all the same.
        let mut prefix = Vec::new();
        if item.leading_colon.is_some() {
            prefix.push("::".to_owned());
        }
        use_leaves(&item.tree, &mut prefix, false, self.uses);
    }

    fn visit_item_macro(&mut self, item: &'ast syn::ItemMacro) {
        if item.ident.is_none() {
            self.visit_macro(&item.mac);
        }
    }

    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {
        // Attributes name derives, lints and docs: nothing of the crate's module graph.
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.visit_path(&mac.path);
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        if QUOTING_MACROS.contains(&name.as_str()) {
            return;
        }
        // Most macros (`format!`, `assert_eq!`, `vec!`, `write!`) take expressions separated
        // by commas; read those. Others are skipped: their paths are not seen.
        let parser = Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        if let Ok(exprs) = mac.parse_body_with(parser) {
            for expr in &exprs {
                self.visit_expr(expr);
            }
        }
    }
}
