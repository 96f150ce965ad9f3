//! The sandbox as a test bed: seeded faults, fixtures, reset, the request counter, keys from
//! the OS generator, and secrets kept out of `Debug`.

mod support;

use crisp_sandbox::{Faults, Fixtures, Sandbox, demo};
use serde_json::{Value, json};
use support::{Api, conv};

#[tokio::test]
async fn faults_are_seeded_and_repeat() {
    let faults = Faults {
        rate_limited: 0.25,
        retry_after_secs: 3,
        bad_gateway: 0.25,
        drop: 0.1,
        delay: 0.1,
        delay_ms: 5,
        seed: 11,
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sandbox = Sandbox::builder()
            .faults(faults.clone())
            .start()
            .await
            .unwrap();
        let api = Api::new(&sandbox);
        let url = format!(
            "{}/website/{}/settings",
            sandbox.base_url(),
            sandbox.website_id()
        );
        let mut outcomes = Vec::new();
        for _ in 0..40 {
            let answer = api
                .client
                .get(&url)
                .basic_auth(&api.identifier, Some(&api.key))
                .header("X-Crisp-Tier", "plugin")
                .send()
                .await;
            let outcome = match answer {
                Err(_) => "dropped".to_owned(),
                Ok(r) => {
                    let status = r.status().as_u16();
                    let retry = r
                        .headers()
                        .get("retry-after")
                        .map(|v| v.to_str().unwrap().to_owned());
                    let html = r
                        .headers()
                        .get("content-type")
                        .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
                    match (status, r.text().await) {
                        (_, Err(_)) => "dropped".to_owned(),
                        (429, _) => format!("429 retry-after {}", retry.unwrap()),
                        (502, Ok(_)) if html => "502 html".to_owned(),
                        (s, _) => s.to_string(),
                    }
                }
            };
            outcomes.push(outcome);
        }
        runs.push(outcomes);
        sandbox.set_faults(None).unwrap();
    }
    assert_eq!(runs[0], runs[1], "the same seed gives the same faults");
    for kind in ["200", "429 retry-after 3", "502 html", "dropped"] {
        assert!(runs[0].iter().any(|o| o == kind), "{kind} in {:?}", runs[0]);
    }
}

#[tokio::test]
async fn fixtures_load_export_and_are_checked() {
    let mut fixtures = Fixtures::demo();
    fixtures.conversations.truncate(2);
    let sandbox = Sandbox::builder()
        .fixtures(fixtures.clone())
        .start()
        .await
        .unwrap();
    let api = Api::new(&sandbox);
    let listed = api.data("/conversations/1?include_empty=1").await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let exported = sandbox.fixtures();
    assert_eq!(exported.conversations.len(), 2);
    let text = serde_json::to_string(&exported).unwrap();
    assert_eq!(Fixtures::from_json(&text).unwrap(), exported);

    // The sandbox's own export round-trips through the admin route too.
    let admin: Value = reqwest::get(format!("{}/_sandbox/fixtures", sandbox.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(admin["website_id"], demo::WEBSITE_ID);

    let mut broken = fixtures;
    broken.conversations[0]["state"] = json!(7);
    let error = Sandbox::builder()
        .fixtures(broken)
        .start()
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("conversations[0]") && message.contains("state"),
        "{message}"
    );
}

#[tokio::test]
async fn reset_restores_the_workspace() {
    let sandbox = Sandbox::start().await.unwrap();
    let api = Api::new(&sandbox);
    assert_eq!(api.delete(&conv(demo::SESSION_ID)).await.0, 200);
    assert_eq!(api.get(&conv(demo::SESSION_ID)).await.0, 404);
    let reset = api
        .client
        .post(format!("{}/_sandbox/reset", sandbox.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(api.get(&conv(demo::SESSION_ID)).await.0, 200);
}

#[tokio::test]
async fn api_requests_are_counted_whatever_their_answer() {
    let sandbox = Sandbox::start().await.unwrap();
    let api = Api::new(&sandbox);
    let admin = || async {
        let body: Value = reqwest::get(format!("{}/_sandbox/requests", sandbox.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["data"]["api_requests"].as_u64().unwrap()
    };
    assert_eq!(sandbox.api_requests(), 0);
    assert_eq!(admin().await, 0, "admin routes are not counted");
    assert_eq!(api.get(&conv(demo::SESSION_ID)).await.0, 200);
    assert_eq!(api.get("/no/such/route").await.0, 404);
    let unauthorised = api.with_token("nobody", "wrong", "plugin");
    assert_eq!(unauthorised.get(&conv(demo::SESSION_ID)).await.0, 401);
    assert_eq!(sandbox.api_requests(), 3);
    assert_eq!(admin().await, 3);
    sandbox.reset();
    assert_eq!(sandbox.api_requests(), 3, "reset keeps the count");
}

#[tokio::test]
async fn keys_and_signing_secrets_come_from_the_os_generator() {
    // Made with the process's fast generator, a key would follow its seed: two sandboxes
    // started from one seed would share their key and signing secret.
    let mut made = Vec::new();
    for _ in 0..2 {
        fastrand::seed(7);
        let sandbox = Sandbox::start().await.unwrap();
        assert_eq!(sandbox.key().len(), 64);
        assert_eq!(sandbox.signing_secret().len(), 64);
        made.push((
            sandbox.key().to_owned(),
            sandbox.signing_secret().to_owned(),
        ));
    }
    assert_ne!(made[0].0, made[1].0, "the same key twice");
    assert_ne!(made[0].1, made[1].1, "the same signing secret twice");
}

#[tokio::test]
async fn secrets_stay_out_of_debug() {
    let sandbox = Sandbox::start().await.unwrap();
    let printed = format!("{sandbox:?} {:?}", sandbox.info());
    assert!(!printed.contains(sandbox.key()));
    assert!(!printed.contains(sandbox.signing_secret()));
    let line = serde_json::to_value(sandbox.info()).unwrap();
    for field in [
        "base_url",
        "website_id",
        "identifier",
        "key",
        "tier",
        "signing_secret",
    ] {
        assert!(line[field].is_string(), "{field}");
    }
    assert!(line["base_url"].as_str().unwrap().ends_with("/v1"));
}
