//! Who may call the admin routes: a host other than loopback is refused unless an admin token
//! is set (then every admin route needs it) or the admin routes are opened on purpose, with a
//! warning either way.

mod support;

use std::net::{IpAddr, Ipv4Addr};

use crisp_sandbox::{Error, Sandbox};
use support::{Api, Logs};

const ANY: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

#[tokio::test]
async fn a_host_off_loopback_is_refused_without_an_admin_token() {
    let error = Sandbox::builder().host(ANY).start().await.unwrap_err();
    assert!(matches!(error, Error::AdminRoutes(_)), "{error:?}");
    let message = error.to_string();
    for needed in ["0.0.0.0", "/_sandbox", "--admin-token", "--insecure-admin"] {
        assert!(message.contains(needed), "{needed} in {message}");
    }
    let blank = Sandbox::builder()
        .admin_token("  ")
        .start()
        .await
        .unwrap_err();
    assert!(blank.to_string().contains("blank"), "{blank}");
}

/// The status of `GET /_sandbox/health` with this `Authorization` header, if any.
async fn health(sandbox: &Sandbox, authorization: Option<&str>) -> u16 {
    let url = format!("http://127.0.0.1:{}/_sandbox/health", sandbox.addr().port());
    let mut request = reqwest::Client::new().get(url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn with_an_admin_token_every_admin_route_needs_it() {
    let (logs, _guard) = Logs::capture();
    let sandbox = Sandbox::builder()
        .host(ANY)
        .admin_token("admin-secret")
        .start()
        .await
        .unwrap();
    assert_eq!(health(&sandbox, None).await, 401);
    assert_eq!(health(&sandbox, Some("Bearer wrong")).await, 401);
    assert_eq!(
        health(&sandbox, Some("Bearer admin-secret-and-more")).await,
        401
    );
    assert_eq!(health(&sandbox, Some("Basic admin-secret")).await, 401);
    assert_eq!(health(&sandbox, Some("Bearer admin-secret")).await, 200);
    assert_eq!(health(&sandbox, Some("bearer  admin-secret ")).await, 200);

    let client = reqwest::Client::new();
    let root = format!("http://127.0.0.1:{}", sandbox.addr().port());
    let refused = client
        .post(format!("{root}/_sandbox/tokens"))
        .body(r#"{"identifier": "mine", "key": "mine"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["www-authenticate"], "Bearer");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["reason"], "invalid_session");
    let exported = client
        .get(format!("{root}/_sandbox/fixtures"))
        .send()
        .await
        .unwrap();
    assert_eq!(exported.status(), 401);

    // The API keeps its own auth.
    let mut api = Api::new(&sandbox);
    api.base = format!("{root}/v1");
    assert_eq!(api.get("/conversations/1").await.0, 200);

    let logs = logs.text();
    assert!(
        logs.contains("WARN") && logs.contains("reachable from the network"),
        "{logs}"
    );
    assert!(!logs.contains("admin-secret"), "{logs}");
}

#[tokio::test]
async fn insecure_admin_opens_them_with_a_loud_warning() {
    let (logs, _guard) = Logs::capture();
    let sandbox = Sandbox::builder()
        .host(ANY)
        .insecure_admin(true)
        .start()
        .await
        .unwrap();
    assert_eq!(health(&sandbox, None).await, 200);
    let logs = logs.text();
    assert!(
        logs.contains("WARN") && logs.contains("OPEN TO THE NETWORK, WITHOUT AUTHENTICATION"),
        "{logs}"
    );
}

#[tokio::test]
async fn on_loopback_the_admin_routes_stay_open_unless_a_token_is_set() {
    let (logs, _guard) = Logs::capture();
    let open = Sandbox::start().await.unwrap();
    assert_eq!(health(&open, None).await, 200);
    let guarded = Sandbox::builder()
        .admin_token("admin-secret")
        .start()
        .await
        .unwrap();
    assert_eq!(health(&guarded, None).await, 401);
    assert_eq!(health(&guarded, Some("Bearer admin-secret")).await, 200);
    assert!(!logs.text().contains("WARN"), "{}", logs.text());
}
