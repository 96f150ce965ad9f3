//! Rules on the component schemas: names, examples and descriptions, string enums,
//! `x-crisp-rust-type`, forward compatibility (nothing that rejects what Crisp adds later) and
//! inline object names that would collide with a component.

use std::collections::{BTreeMap, BTreeSet};

use heck::ToUpperCamelCase;
use serde_yaml::{Mapping, Value};

use crate::spec::StringEnum;
use crate::yaml::{get, key_str, schemas, str_field, walk};

/// Lints every component schema; returns the string enums and the `x-crisp-rust-type`
/// replacements (component name, Rust path).
pub(super) fn lint_schemas(
    raw: &Value,
    report: &mut impl FnMut(&str, String),
) -> (Vec<StringEnum>, Vec<(String, String)>) {
    let mut enums = Vec::new();
    let mut rust_types = Vec::new();
    let Some(schemas) = schemas(raw) else {
        report("spec", "`components/schemas` is missing".into());
        return (enums, rust_types);
    };
    let mut rust_names: BTreeMap<String, String> = BTreeMap::new();
    for (name, schema) in schemas {
        let name = key_str(name).unwrap_or_default();
        let place = format!("schema {name}");
        let rust = name.to_upper_camel_case();
        if rust != name {
            report(
                &place,
                format!("component names are UpperCamelCase (`{rust}`)"),
            );
        }
        if let Some(other) = rust_names.insert(rust.clone(), name.clone()) {
            report(
                &place,
                format!("its Rust name `{rust}` collides with schema {other}"),
            );
        }
        if schema.get("example").is_none() {
            report(
                &place,
                "has no `example` (every schema is decoded from its example in tests)".into(),
            );
        }
        if schema.get("description").is_none() {
            report(&place, "has no description".into());
        }
        if let Some(values) = schema.get("enum") {
            if str_field(schema, "type") != Some("string") {
                report(&place, "only string enums are supported".into());
            }
            let values: Vec<String> = values
                .as_sequence()
                .map(|s| s.iter().filter_map(key_str).collect())
                .unwrap_or_default();
            let mut variants = BTreeSet::new();
            for v in &values {
                let variant = v.to_upper_camel_case();
                if variant.is_empty() || variant == "Unknown" || !variants.insert(variant.clone()) {
                    report(
                        &place,
                        format!(
                            "enum value `{v}` gives an unusable or duplicate variant `{variant}`"
                        ),
                    );
                }
            }
            enums.push(StringEnum {
                name: name.clone(),
                description: str_field(schema, "description")
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                values,
            });
        }
        if let Some(path) = schema.get("x-crisp-rust-type") {
            match path.as_str() {
                Some(path) if path.starts_with("crate::") => {
                    rust_types.push((name.clone(), path.to_owned()));
                }
                _ => report(
                    &place,
                    "x-crisp-rust-type must be a path in this crate (`crate::...`)".into(),
                ),
            }
        }
        walk(schema, &place, &mut |at, value| {
            lint_schema_node(at, value, schema, report);
        });
        lint_inline_names(&name, schema, schemas, report);
    }
    (enums, rust_types)
}

/// Forward compatibility: nothing denies unknown fields, no patterns, no closed inline enums.
fn lint_schema_node(
    at: &str,
    value: &Value,
    component: &Value,
    report: &mut impl FnMut(&str, String),
) {
    let Some(map) = value.as_mapping() else {
        return;
    };
    if get(map, "additionalProperties") == Some(&Value::Bool(false)) {
        report(
            at,
            "`additionalProperties: false`: Crisp adds fields in place; never deny unknown fields"
                .into(),
        );
    }
    if get(map, "pattern").is_some() {
        report(at, "`pattern`: not allowed on what we receive".into());
    }
    if get(map, "enum").is_some() && !std::ptr::eq(value, component) {
        report(
            at,
            "inline `enum` becomes a closed Rust enum: make it a string enum component and $ref it"
                .into(),
        );
    }
    if get(map, "discriminator").is_some() {
        report(
            at,
            "`discriminator` is ignored by progenitor; dispatch in generated code instead".into(),
        );
    }
}

/// An inline object property gets the Rust name Parent+Property (or its title); it must not
/// collide with a component.
fn lint_inline_names(
    name: &str,
    schema: &Value,
    schemas: &Mapping,
    report: &mut impl FnMut(&str, String),
) {
    let Some(props) = schema.get("properties").and_then(Value::as_mapping) else {
        return;
    };
    for (prop, prop_schema) in props {
        let prop = key_str(prop).unwrap_or_default();
        let inline_object = prop_schema.get("$ref").is_none()
            && (prop_schema.get("properties").is_some()
                || str_field(prop_schema, "type") == Some("object")
                    && prop_schema.get("additionalProperties").is_none());
        if !inline_object {
            continue;
        }
        let rust = match str_field(prop_schema, "title") {
            Some(title) => title.to_upper_camel_case(),
            None => format!("{name}{}", prop.to_upper_camel_case()),
        };
        if get(schemas, &rust).is_some() {
            report(
                &format!("schema {name}"),
                format!(
                    "inline object `{prop}` would be named `{rust}`, which is also a component: \
                     $ref the component or give the inline object another title"
                ),
            );
        }
    }
}
