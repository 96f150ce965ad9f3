//! The one table of spec-diff rules: every change the differ reports names a rule here, and the
//! rule alone decides the change's class and the sentence a reviewer reads.
//!
//! A sentence template names its blanks in braces (`{field}`); [`Rule::render`] fills them.
//! `xtask/tests/spec_diff.rs` has at least one spec edit per rule, and a test that no rule is
//! left without one.

use std::fmt;

/// What a change does to the people who depend on the spec, from worst to mildest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Code written against the generated crate stops compiling or changes meaning.
    BreakingForCode,
    /// The same call is refused or answered otherwise: earlier versions of the crate, and
    /// callers that do not change, see different behaviour from Crisp.
    BreakingOnTheWire,
    /// What an operation needs or does changes: an agent's grants, confirmations or event
    /// subscriptions no longer mean what they did.
    Permissions,
    /// Nothing that compiled or worked before stops doing so.
    Compatible,
}

impl Class {
    /// Every class, worst first.
    pub const ALL: [Class; 4] = [
        Class::BreakingForCode,
        Class::BreakingOnTheWire,
        Class::Permissions,
        Class::Compatible,
    ];

    /// The identifier used in `--json` output.
    pub fn id(self) -> &'static str {
        match self {
            Class::BreakingForCode => "breaking-for-code",
            Class::BreakingOnTheWire => "breaking-on-the-wire",
            Class::Permissions => "permissions",
            Class::Compatible => "compatible",
        }
    }

    /// The label used in the text report and the changelog.
    pub fn label(self) -> &'static str {
        match self {
            Class::BreakingForCode => "breaking for code",
            Class::BreakingOnTheWire => "breaking on the wire",
            Class::Permissions => "permissions",
            Class::Compatible => "compatible",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One rule: an identifier (stable: bots match on it), a class and a sentence template.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable identifier, e.g. `field-made-optional`.
    pub id: &'static str,
    /// The class of every change reported under this rule.
    pub class: Class,
    /// Flag the change loudly (an operation that starts or stops reaching a real person).
    pub loud: bool,
    /// The sentence for the reviewer, with `{name}` blanks.
    pub template: &'static str,
}

impl Rule {
    /// The sentence with its blanks filled from `args`. A blank without an argument is left
    /// as `{name}` (and fails a debug assertion, so the corpus tests catch it).
    pub fn render(&self, args: &[(&str, &str)]) -> String {
        let mut out = String::with_capacity(self.template.len() + 32);
        let mut rest = self.template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return out;
            };
            let name = &after[..end];
            match args.iter().find(|(key, _)| *key == name) {
                Some((_, value)) => out.push_str(value),
                None => {
                    debug_assert!(false, "rule {}: no value for {{{name}}}", self.id);
                    out.push_str(&rest[start..start + end + 2]);
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// The names of the template's blanks.
    pub fn blanks(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        let mut rest = self.template;
        while let Some(start) = rest.find('{') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('}') else { break };
            names.push(&after[..end]);
            rest = &after[end + 1..];
        }
        names
    }
}

/// Looks a rule up by id.
///
/// # Panics
/// When no rule has that id: the differ only names rules of this table, and a test checks
/// every id it can emit.
pub fn rule(id: &str) -> &'static Rule {
    RULES
        .iter()
        .find(|rule| rule.id == id)
        .unwrap_or_else(|| panic!("spec-diff has no rule `{id}`"))
}

use Class::{BreakingForCode as Code, BreakingOnTheWire as Wire, Compatible, Permissions};

const fn r(id: &'static str, class: Class, template: &'static str) -> Rule {
    Rule {
        id,
        class,
        loud: false,
        template,
    }
}

const fn loud(id: &'static str, class: Class, template: &'static str) -> Rule {
    Rule {
        id,
        class,
        loud: true,
        template,
    }
}

/// Every rule. Blanks: `{op}` an operationId, `{route}` `METHOD /path`, `{ty}` a Rust type
/// name, `{field}` a JSON field, `{old}`/`{new}` the two sides, `{where}` a place in the
/// generated crate, `{param}`/`{in}` a parameter and its location.
pub const RULES: &[Rule] = &[
    // ---- operations -------------------------------------------------------------------------
    r(
        "operation-removed",
        Code,
        "`Client::{op}` ({route}) is removed: code that calls it no longer compiles.",
    ),
    r(
        "operation-renamed",
        Code,
        "`Client::{old}` is renamed `Client::{new}` ({route}): code that calls `{old}` no longer \
         compiles, and grants or MCP tool lists that name `{old}` must be updated.",
    ),
    r(
        "operation-added",
        Compatible,
        "New operation `Client::{op}` ({route}); it needs `{scope}` at {access} level.",
    ),
    r(
        "operation-moved",
        Wire,
        "The route changes from {old} to {new}: the method keeps its name, but earlier versions \
         of the crate still call the old route.",
    ),
    r(
        "parameter-removed",
        Code,
        "The {in} parameter `{param}` is removed: the builder's `.{param}()` goes away, so code \
         that sets it no longer compiles.",
    ),
    r(
        "parameter-added-required",
        Code,
        "New required {in} parameter `{param}`: calls that do not set `.{param}()` still compile \
         but now fail before sending.",
    ),
    r(
        "parameter-added-optional",
        Compatible,
        "New optional {in} parameter `{param}` (`.{param}()` on the builder).",
    ),
    r(
        "parameter-made-required",
        Code,
        "The {in} parameter `{param}` becomes required: calls that do not set `.{param}()` still \
         compile but now fail before sending.",
    ),
    r(
        "parameter-made-optional",
        Compatible,
        "The {in} parameter `{param}` becomes optional.",
    ),
    r(
        "parameter-type-changed",
        Code,
        "The {in} parameter `{param}` changes type: `.{param}()` takes `{new}` instead of `{old}`.",
    ),
    r(
        "body-added-required",
        Code,
        "The operation now takes a required `{ty}` body: calls that do not set `.body()` fail \
         before sending.",
    ),
    r(
        "body-added-optional",
        Compatible,
        "The operation now takes an optional `{ty}` body (`.body()` on the builder).",
    ),
    r(
        "body-removed",
        Code,
        "The request body (`{ty}`) is removed: the builder's `.body()` goes away.",
    ),
    r(
        "body-made-required",
        Code,
        "The request body becomes required: calls that do not set `.body()` still compile but \
         now fail before sending.",
    ),
    r(
        "body-made-optional",
        Compatible,
        "The request body becomes optional.",
    ),
    r(
        "body-type-changed",
        Code,
        "The request body changes type: `.body()` takes `{new}` instead of `{old}`.",
    ),
    r(
        "response-type-changed",
        Code,
        "The success response changes type: `send()` returns `{new}` instead of `{old}`.",
    ),
    // ---- the x-crisp-* extensions of an operation ----------------------------------------
    r(
        "scope-changed",
        Permissions,
        "Needs scope `{new}` instead of `{old}`: a client or MCP server granted `{old}` alone \
         now refuses the call before sending; grants must name `{new}`.",
    ),
    r(
        "access-raised",
        Permissions,
        "Needs {new} access instead of {old}: grants of `{old}` alone no longer cover it.",
    ),
    r(
        "access-lowered",
        Permissions,
        "Needs {new} access instead of {old}: grants of `{new}` alone now allow it.",
    ),
    loud(
        "customer-visible-added",
        Permissions,
        "!! NOW CUSTOMER-VISIBLE: it reaches a real person. A client with a confirmation callback \
         asks before each call, and an agent granted this operation can now write to customers.",
    ),
    loud(
        "customer-visible-removed",
        Permissions,
        "!! No longer marked customer-visible: the confirmation callback is no longer asked before \
         it runs.",
    ),
    r(
        "effect-added",
        Permissions,
        "Now `{effect}`: a client with a confirmation callback asks before each call.",
    ),
    r(
        "effect-removed",
        Permissions,
        "No longer `{effect}`: the confirmation callback is no longer asked before it runs.",
    ),
    r(
        "webhook-added",
        Permissions,
        "Now fires `{event}`: receivers subscribed to it will see this operation's calls.",
    ),
    r(
        "webhook-removed",
        Permissions,
        "No longer fires `{event}`: receivers that wait for it after this call wait in vain.",
    ),
    r(
        "webhook-changed",
        Permissions,
        "Fires `{new}` instead of `{old}`: receivers subscribed to `{old}` no longer see these \
         calls.",
    ),
    r(
        "paging-added",
        Compatible,
        "Now pages by {style}: the builder gains `.stream()`.",
    ),
    r(
        "paging-removed",
        Code,
        "No longer paged: the builder's `.stream()` goes away.",
    ),
    r(
        "paging-style-changed",
        Code,
        "Paging changes from {old} to {new}: `.stream()` walks the pages differently and the \
         parameters it sets change.",
    ),
    r(
        "paging-changed",
        Wire,
        "Paging's `{key}` changes from {old} to {new}: `.stream()` decides where a walk ends (or \
         how large a page is) from it.",
    ),
    // ---- schemas --------------------------------------------------------------------------
    r(
        "schema-removed",
        Code,
        "`types::{ty}` is removed: code that names it no longer compiles.",
    ),
    r(
        "schema-renamed",
        Code,
        "`types::{old}` is renamed `types::{new}` (same shape): code that names `{old}` no \
         longer compiles.",
    ),
    r("schema-added", Compatible, "New type `types::{ty}`."),
    r(
        "schema-type-changed",
        Code,
        "`{ty}` changes from {old} to {new}: code that uses it no longer compiles.",
    ),
    r(
        "field-removed",
        Code,
        "Field `{ty}::{field}` is removed: code that reads or sets it no longer compiles.",
    ),
    r(
        "field-added",
        Compatible,
        "New field `{ty}::{field}` (`{new}`). Code that builds `{ty}` with a struct literal must \
         add it; the builder and decoding are unaffected.",
    ),
    r(
        "request-field-added-required",
        Code,
        "New required field `{ty}::{field}` (`{new}`) in a request: code that builds `{ty}` must \
         set it, and Crisp refuses requests without it.",
    ),
    r(
        "field-made-optional",
        Code,
        "`{ty}::{field}` becomes optional: its Rust type turns from `{old}` into `{new}`.",
    ),
    r(
        "field-made-required",
        Code,
        "`{ty}::{field}` becomes required: its Rust type turns from `{old}` into `{new}`{wire}.",
    ),
    r(
        "field-made-nullable",
        Code,
        "`{ty}::{field}` becomes nullable: its Rust type turns from `{old}` into `{new}`.",
    ),
    r(
        "field-made-non-nullable",
        Code,
        "`{ty}::{field}` is no longer nullable: its Rust type turns from `{old}` into `{new}`.",
    ),
    r(
        "request-field-made-required-same-type",
        Wire,
        "`{ty}::{field}` becomes required in requests; its Rust type stays `{new}`, but Crisp now \
         refuses requests without it.",
    ),
    r(
        "field-optionality-changed-same-type",
        Compatible,
        "`{ty}::{field}` becomes {what}; its Rust type stays `{new}`.",
    ),
    r(
        "field-type-changed",
        Code,
        "{where} changes type: `{old}` becomes `{new}`, so code that uses it no longer compiles.",
    ),
    r(
        "inline-type-renamed",
        Code,
        "The inline type at {where} is renamed from `types::{old}` to `types::{new}` (its \
         `title`): code that names `{old}` no longer compiles.",
    ),
    r(
        "enum-value-removed",
        Code,
        "Value `{value}` is removed: `{ty}::{variant}` goes away, so code that names it no longer \
         compiles, and `{value}` from Crisp now decodes as `{ty}::Unknown(\"{value}\")`.",
    ),
    r(
        "enum-value-added",
        Compatible,
        "New value `{value}` (`{ty}::{variant}`). The enum is open and `#[non_exhaustive]`, so \
         matches still compile; `{value}` decoded as `{ty}::Unknown(\"{value}\")` before and now \
         decodes as `{ty}::{variant}`.",
    ),
    r(
        "request-constraint-tightened",
        Wire,
        "{where}: `{key}` changes from {old} to {new}; Crisp now refuses values it accepted \
         before.",
    ),
    r(
        "constraint-changed",
        Compatible,
        "{where}: `{key}` changes from {old} to {new} ({why}).",
    ),
    r(
        "content-type-added",
        Compatible,
        "Messages of type `{value}` now decode their content as {new} (`x-crisp-content-by-type`).",
    ),
    r(
        "content-type-removed",
        Code,
        "Messages of type `{value}` no longer have a content shape of their own \
         (`x-crisp-content-by-type`): the matching `Content` variant goes away.",
    ),
    r(
        "content-type-changed",
        Code,
        "Messages of type `{value}` now carry {new} instead of {old} (`x-crisp-content-by-type`): \
         code that reads that content no longer compiles.",
    ),
    // ---- webhook events (x-crisp-webhooks) ------------------------------------------------
    r(
        "event-removed",
        Code,
        "Event `{event}` is removed: `Event::{variant}` goes away, so code that matches it no \
         longer compiles, and deliveries of it parse as `Event::Unknown`.",
    ),
    r(
        "event-added",
        Compatible,
        "New event `{event}` (`Event::{variant}` carrying `{ty}`). `Event` is \
         `#[non_exhaustive]`: deliveries that parsed as `Event::Unknown` now parse as \
         `Event::{variant}`.",
    ),
    r(
        "event-schema-changed",
        Code,
        "`Event::{variant}` now carries `{new}` instead of `{old}`: code that reads its data no \
         longer compiles.",
    ),
    // ---- the document --------------------------------------------------------------------
    r(
        "base-url-changed",
        Wire,
        "The API's base URL changes from {old} to {new}: `DEFAULT_BASE_URL` follows, and earlier \
         versions of the crate still call the old one.",
    ),
    r("docs-changed", Compatible, "Documentation changes: {what}."),
    r(
        "example-changed",
        Compatible,
        "An example changes ({what}): generated tests and docs follow; no type changes.",
    ),
    r(
        "unmodelled-change",
        Code,
        "`{key}` changes at {where}. spec-diff has no rule for it, so it counts as breaking \
         for code: read the generated diff, and add a rule to xtask/src/diff/rules.rs.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_kebab_case() {
        let mut ids: Vec<_> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len(), "a rule id is used twice");
        for id in ids {
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{id}"
            );
        }
    }

    /// Every kebab-case literal in the differ's sources names a rule (or is one of the few
    /// words that are not rule ids), so `rule()` cannot meet an unknown id, even on a path the
    /// corpus does not take.
    #[test]
    fn the_differ_names_only_rules_of_the_table() {
        let sources = [
            include_str!("ops.rs"),
            include_str!("schema.rs"),
            include_str!("events.rs"),
            include_str!("mod.rs"),
            include_str!("report.rs"),
        ];
        let not_rules = ["customer-visible", "non-nullable"];
        let mut checked = 0;
        for source in sources {
            for literal in source.split('"').skip(1).step_by(2) {
                let kebab = literal.contains('-')
                    && literal.chars().all(|c| c.is_ascii_lowercase() || c == '-');
                if !kebab || literal.starts_with("x-") || not_rules.contains(&literal) {
                    continue;
                }
                assert!(
                    RULES.iter().any(|r| r.id == literal),
                    "\"{literal}\" is not a rule"
                );
                checked += 1;
            }
        }
        assert!(checked > 50, "only {checked} rule names found");
    }

    #[test]
    fn render_fills_every_blank() {
        let rule = rule("scope-changed");
        let text = rule.render(&[("old", "a:b"), ("new", "c:d")]);
        assert!(
            text.starts_with("Needs scope `c:d` instead of `a:b`"),
            "{text}"
        );
        assert!(!text.contains('{'), "{text}");
        assert_eq!(rule.blanks(), ["new", "old", "old", "new"]);
    }

    #[test]
    fn values_with_braces_are_not_read_as_blanks() {
        let text = rule("operation-added").render(&[
            ("op", "get_x"),
            ("route", "GET /website/{website_id}/x"),
            ("scope", "website:x"),
            ("access", "read"),
        ]);
        assert!(text.contains("(GET /website/{website_id}/x)"), "{text}");
    }
}
