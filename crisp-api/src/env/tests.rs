//! The environment read through an injected lookup: no test touches the process environment.

use super::*;

const SECRET: &str = "very-secret-key";

/// Reads `vars` as the environment.
fn read(website: Website, vars: &[(&str, &str)]) -> Result<Env, EnvError> {
    Env::from_lookup(website, |name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

fn error(website: Website, vars: &[(&str, &str)]) -> String {
    let error = read(website, vars).expect_err("an error");
    let text = error.to_string();
    assert!(!text.contains(SECRET), "the key leaks: {text}");
    assert!(
        !format!("{error:?}").contains(SECRET),
        "the key leaks: {error:?}"
    );
    text
}

const TOKEN: [(&str, &str); 3] = [
    (IDENTIFIER, "d8a2e3b1-identifier"),
    (KEY, SECRET),
    (WEBSITE_ID, "8c842203-7ed8-4e29-a608-7cf78a7d2fcc"),
];

#[test]
fn nothing_set_means_the_sandbox() {
    let env = read(Website::Required, &[]).unwrap();
    assert!(env.crisp.is_none() && env.grants.is_none());
}

#[test]
fn the_whole_token_means_the_real_crisp_with_the_defaults() {
    let env = read(Website::Required, &TOKEN).unwrap();
    let crisp = env.crisp.unwrap();
    assert_eq!(crisp.credentials.identifier(), "d8a2e3b1-identifier");
    assert_eq!(crisp.credentials.tier(), Tier::Plugin);
    assert_eq!(crisp.base_url, DEFAULT_BASE_URL);
    assert_eq!(
        crisp.website_id.as_deref(),
        Some("8c842203-7ed8-4e29-a608-7cf78a7d2fcc")
    );
    assert!(!format!("{crisp:?}").contains(SECRET));
}

#[test]
fn part_of_the_token_is_an_error_naming_what_is_missing() {
    // The variables set, what the error says, and the variables it names.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a [&'a str]);
    let cases: [Case; 5] = [
        (
            &[(KEY, SECRET)],
            "CRISP_IDENTIFIER and CRISP_WEBSITE_ID are not set; give them a value to call the \
             real Crisp, or unset CRISP_KEY to use the local sandbox",
            &[IDENTIFIER, WEBSITE_ID],
        ),
        (
            &[(IDENTIFIER, "i"), (KEY, SECRET)],
            "CRISP_WEBSITE_ID is not set; give it a value",
            &[WEBSITE_ID],
        ),
        (
            &[(TIER, "user")],
            "CRISP_IDENTIFIER, CRISP_KEY and CRISP_WEBSITE_ID are not set",
            &[IDENTIFIER, KEY, WEBSITE_ID],
        ),
        (
            &[(BASE_URL, "http://127.0.0.1:9/v1")],
            "or unset CRISP_BASE_URL to use the local sandbox",
            &[IDENTIFIER, KEY, WEBSITE_ID],
        ),
        (
            &[(WEBSITE_ID, "w")],
            "CRISP_IDENTIFIER and CRISP_KEY are not set",
            &[IDENTIFIER, KEY],
        ),
    ];
    for (vars, expected, named) in cases {
        let error = read(Website::Required, vars).unwrap_err();
        assert!(error.to_string().contains(expected), "{vars:?}: {error}");
        assert_eq!(error.variables(), named, "{vars:?}");
        assert!(!error.to_string().contains(SECRET));
    }
}

#[test]
fn the_website_is_optional_only_when_the_program_says_so() {
    let vars = [(IDENTIFIER, "i"), (KEY, SECRET)];
    let crisp = read(Website::Optional, &vars).unwrap().crisp.unwrap();
    assert_eq!(crisp.website_id, None);
    assert!(error(Website::Required, &vars).contains("CRISP_WEBSITE_ID is not set"));
    // Still part of the token: alone, it is not the sandbox.
    assert!(error(Website::Optional, &[(WEBSITE_ID, "w")]).contains("are not set"));
}

#[test]
fn a_variable_set_but_empty_is_an_error() {
    let mut vars = TOKEN.to_vec();
    vars[1] = (KEY, "");
    let text = error(Website::Required, &vars);
    assert!(
        text.contains("CRISP_KEY is empty; give it a value to call the real Crisp, or unset"),
        "{text}"
    );
    let blank = error(Website::Required, &[(IDENTIFIER, " "), (KEY, "")]);
    assert!(
        blank.contains("CRISP_WEBSITE_ID is not set and CRISP_IDENTIFIER and CRISP_KEY are empty"),
        "{blank}"
    );
    let mut tier = TOKEN.to_vec();
    tier.push((TIER, ""));
    assert!(error(Website::Required, &tier).contains("CRISP_TIER is empty"));
    let grants = error(Website::Required, &[(GRANTS, "")]);
    assert!(
        grants.starts_with("CRISP_GRANTS: no grants given"),
        "{grants}"
    );
}

#[test]
fn the_tier_defaults_to_plugin_and_is_checked() {
    for (text, tier) in [
        ("plugin", Tier::Plugin),
        ("User", Tier::User),
        (" website ", Tier::Website),
    ] {
        let mut vars = TOKEN.to_vec();
        vars.push((TIER, text));
        let crisp = read(Website::Required, &vars).unwrap().crisp.unwrap();
        assert_eq!(crisp.credentials.tier(), tier, "{text}");
    }
    let mut vars = TOKEN.to_vec();
    vars.push((TIER, "bogus"));
    let text = error(Website::Required, &vars);
    assert!(
        text.starts_with("CRISP_TIER is `bogus`, which is not a tier: use plugin"),
        "{text}"
    );
}

#[test]
fn the_base_url_is_honoured_and_checked() {
    let mut vars = TOKEN.to_vec();
    vars.push((BASE_URL, " http://127.0.0.1:8080/v1/ "));
    let crisp = read(Website::Required, &vars).unwrap().crisp.unwrap();
    assert_eq!(crisp.base_url, "http://127.0.0.1:8080/v1");
    assert_eq!(
        crisp.client_builder().build().unwrap().base_url(),
        "http://127.0.0.1:8080/v1"
    );
    for (bad, expected) in [
        (
            "not a url",
            "CRISP_BASE_URL is `not a url`, which is not a URL",
        ),
        ("ftp://example.com/v1", "not an http or https URL"),
        ("https://api.crisp.chat/v1?x=1", "with a query or fragment"),
    ] {
        let mut vars = TOKEN.to_vec();
        vars.push((BASE_URL, bad));
        let text = error(Website::Required, &vars);
        assert!(text.contains(expected), "{bad}: {text}");
    }
    let mut vars = TOKEN.to_vec();
    vars.push((BASE_URL, "https://someone:hunter2@api.crisp.chat/v1"));
    let text = error(Website::Required, &vars);
    assert!(text.contains("holds a user name or password"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn credentials_a_header_cannot_carry_are_refused_without_the_key() {
    let mut vars = TOKEN.to_vec();
    vars[0] = (IDENTIFIER, "a:b");
    assert!(error(Website::Required, &vars).contains("holds `:`"));
    vars[0] = (IDENTIFIER, "i");
    vars[1] = (KEY, "very-secret-key\n");
    assert!(error(Website::Required, &vars).contains("control character"));
}

#[test]
fn grants_are_parsed_and_checked_against_what_a_program_calls() {
    let env = read(
        Website::Required,
        &[(GRANTS, "website:conversation:sessions=read")],
    )
    .unwrap();
    assert!(
        env.crisp.is_none(),
        "grants alone are not part of the token"
    );
    let read_only = env.grants_for(&[&Operation::LIST_CONVERSATIONS]).unwrap();
    assert_eq!(read_only.to_string(), "website:conversation:sessions=read");
    let text = env
        .grants_for(&[&Operation::LIST_CONVERSATIONS, &Operation::SEND_MESSAGE])
        .unwrap_err()
        .to_string();
    assert_eq!(
        text,
        "CRISP_GRANTS (website:conversation:sessions=read) does not allow `send_message`, which \
         this program calls: add `website:conversation:messages=write` to it, or unset \
         CRISP_GRANTS"
    );
    // Unset: the least grants for the calls.
    let env = read(Website::Required, &[]).unwrap();
    let least = env.grants_for(&[&Operation::SEND_MESSAGE]).unwrap();
    assert_eq!(least.to_string(), "website:conversation:messages=write");
    let misspelt = error(
        Website::Required,
        &[(GRANTS, "website:conversation:session=read")],
    );
    assert!(
        misspelt.starts_with("CRISP_GRANTS: unknown scope `website:conversation:session`")
            && misspelt.contains("did you mean `website:conversation:sessions`?"),
        "{misspelt}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut vars = TOKEN.to_vec();
    vars.extend([
        (TIER, "admin"),
        (BASE_URL, "ftp://x"),
        (GRANTS, "website:nope=read"),
    ]);
    let error = read(Website::Required, &vars).unwrap_err();
    let text = error.to_string();
    for name in [TIER, BASE_URL, GRANTS] {
        assert!(text.contains(name), "{name}: {text}");
    }
    assert_eq!(error.variables(), [TIER, BASE_URL, GRANTS]);
}

#[test]
fn the_help_table_names_every_variable_and_fits_a_terminal() {
    for name in VARIABLES {
        assert!(HELP.contains(&format!("\n  {name}  ")), "{name}");
    }
    assert!(HELP.contains("plugin (the default"));
    assert!(HELP.contains(DEFAULT_BASE_URL));
    for line in HELP.lines() {
        assert!(line.chars().count() <= 100, "{line}");
    }
}
