//! The text form of grants, levels, the least set for a list of operations, and the scopes
//! checked against the operations table.

use super::*;

#[test]
fn parses_the_marketplace_text_form() {
    let grants: Grants = "website:conversation:sessions=read,\n website:conversation:messages=READ-WRITE; website:settings=write"
        .parse()
        .unwrap();
    assert_eq!(
        grants.iter().collect::<Vec<_>>(),
        [
            ("website:conversation:messages", Level::ReadWrite),
            ("website:conversation:sessions", Level::Read),
            ("website:settings", Level::Write),
        ]
    );
    let round_trip: Grants = grants.to_string().parse().unwrap();
    assert_eq!(round_trip, grants);
}

#[test]
fn refuses_malformed_entries_naming_them() {
    for (bad, entry) in [
        ("website:settings", "website:settings"),
        ("=read", "=read"),
        ("website:settings=admin", "website:settings=admin"),
        ("Website Settings=read", "Website Settings=read"),
        (
            "website:settings=read, website:visitors",
            "website:visitors",
        ),
    ] {
        let error = bad.parse::<Grants>().unwrap_err();
        assert_eq!(error.entry(), entry, "{bad:?} -> {error}");
    }
}

#[test]
fn levels_allow_what_crisp_grants_allow() {
    let cases = [
        (Level::Read, Access::Read, true),
        (Level::Read, Access::Write, false),
        (Level::Write, Access::Read, false),
        (Level::Write, Access::Write, true),
        (Level::ReadWrite, Access::Read, true),
        (Level::ReadWrite, Access::Write, true),
    ];
    for (level, access, allowed) in cases {
        assert_eq!(level.allows(access), allowed, "{level} {access}");
    }
}

#[test]
fn for_operations_is_the_least_set_that_allows_exactly_them() {
    let ops = [&Operation::LIST_CONVERSATIONS, &Operation::SEND_MESSAGE];
    let grants = Grants::for_operations(&ops);
    for op in Operation::ALL {
        let needed = ops.contains(&op);
        // Every requested operation is allowed; any other operation that is allowed shares
        // a scope and level with a requested one (Crisp grants no finer than that).
        if needed {
            assert!(grants.allows(op), "{}", op.id);
        } else if grants.allows(op) {
            assert!(
                ops.iter()
                    .any(|o| o.scope == op.scope && o.access == op.access),
                "{} allowed without need",
                op.id
            );
        }
    }
    // Removing any scope, or lowering any level, loses a requested operation.
    for (scope, level) in grants.iter() {
        let without: Grants = grants
            .iter()
            .filter(|(s, _)| *s != scope)
            .fold(Grants::none(), |g, (s, l)| g.with(s, l));
        assert!(
            ops.iter().any(|op| !without.allows(op)),
            "{scope} is needed"
        );
        if level == Level::ReadWrite {
            for lower in [Level::Read, Level::Write] {
                let lowered = without.clone().with(scope, lower);
                assert!(ops.iter().any(|op| !lowered.allows(op)));
            }
        }
    }
}

#[test]
fn empty_text_is_refused_and_none_allows_nothing() {
    for blank in ["", " ", "\n", " , ;"] {
        let error = blank.parse::<Grants>().unwrap_err();
        assert!(
            error.to_string().starts_with("no grants given: "),
            "{error}"
        );
        assert_eq!(error.entry(), "");
    }
    let grants: Grants = "(none)".parse().unwrap();
    assert!(grants.is_empty());
    assert_eq!(grants.allowed_operations().count(), 0);
    assert_eq!(grants.to_string(), "(none)");
}

#[test]
fn all_is_every_operation() {
    for text in ["all", " ALL "] {
        assert_eq!(text.parse::<Grants>().unwrap(), Grants::all());
    }
    let round_trip: Grants = Grants::all().to_string().parse().unwrap();
    assert_eq!(round_trip, Grants::all());
}

#[test]
fn unknown_scopes_are_refused_with_the_nearest_known_one() {
    for (text, scope, nearest) in [
        (
            "website:conversation:session=read",
            "website:conversation:session",
            "website:conversation:sessions",
        ),
        (
            "website:settings=read, website:visitor=read",
            "website:visitor",
            "website:visitors",
        ),
        (
            "website:people:profile=write",
            "website:people:profile",
            "website:people:profiles",
        ),
    ] {
        let error = text.parse::<Grants>().unwrap_err();
        assert_eq!(error.suggestion(), Some(nearest), "{error}");
        let message = error.to_string();
        assert!(
            message.contains(&format!("unknown scope `{scope}`"))
                && message.contains(&format!("did you mean `{nearest}`?")),
            "{message}"
        );
    }
    // Nothing near: every known scope is listed.
    let error = "plugin:subscriptions=read".parse::<Grants>().unwrap_err();
    assert_eq!(error.suggestion(), None);
    for op in Operation::ALL {
        assert!(error.to_string().contains(op.scope), "{error}");
    }
    // Every scope of the table is known.
    for op in Operation::ALL {
        let text = format!("{}=read-write", op.scope);
        assert!(text.parse::<Grants>().is_ok(), "{text}");
    }
}
