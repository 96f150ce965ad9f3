//! Every operation of the spec against a mock Crisp on loopback, driven by the spec's examples
//! (the cases are generated into `crisp_e2e::cases`): what the client sends
//! (method, path, query, JSON body, headers) and what it makes of the answer; that unsafe ids
//! are refused before any I/O on every operation that takes one; and that ids travel as one
//! percent-encoded path segment.
//!
//! A new operation in the spec is tested here with no new code.

use crisp_api::{Client, Credentials, Error, Operation};
use crisp_e2e::cases::{Case, Ids, cases};
use serde_json::Value;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// `printf 'ident:key' | base64`
const BASIC: &str = "Basic aWRlbnQ6a2V5";

async fn mock(answer: ResponseTemplate) -> (MockServer, Client) {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(answer).mount(&server).await;
    let client = Client::builder(Credentials::plugin("ident", "key"))
        .base_url(server.uri())
        .build()
        .unwrap();
    (server, client)
}

fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    let mut values = request.headers.get_all(name).iter();
    let value = values.next()?.to_str().expect("ASCII header");
    assert!(values.next().is_none(), "{name} sent more than once");
    Some(value)
}

fn sorted(pairs: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = pairs.into_iter().collect();
    pairs.sort();
    pairs
}

async fn check(case: &Case) {
    let op = case.operation.id;
    let response: Value = serde_json::from_str(case.response).unwrap();
    let (server, client) = mock(ResponseTemplate::new(200).set_body_json(response.clone())).await;
    let ids = Ids::default();
    let answer = (case.call)(&client, &ids)
        .await
        .unwrap_or_else(|e| panic!("{op}: {e}"));
    assert_eq!(
        answer, response,
        "{op}: the answer decodes into its type losslessly"
    );

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "{op}: one request");
    let request = &requests[0];
    assert_eq!(
        request.method.as_str(),
        case.operation.method.as_str(),
        "{op}"
    );
    assert_eq!(request.url.path(), (case.path)(&ids), "{op}");
    assert_eq!(
        sorted(request.url.query_pairs().into_owned()),
        sorted(
            case.query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        ),
        "{op}: the query"
    );
    match case.body {
        Some(body) => {
            let sent: Value = serde_json::from_slice(&request.body)
                .unwrap_or_else(|e| panic!("{op}: the body is not JSON: {e}"));
            assert_eq!(
                sent,
                serde_json::from_str::<Value>(body).unwrap(),
                "{op}: the body"
            );
            assert_eq!(
                header(request, "content-type"),
                Some("application/json"),
                "{op}"
            );
        }
        None => assert!(request.body.is_empty(), "{op}: no body"),
    }
    assert_eq!(header(request, "authorization"), Some(BASIC), "{op}");
    assert_eq!(header(request, "x-crisp-tier"), Some("plugin"), "{op}");
    assert_eq!(header(request, "accept"), Some("application/json"), "{op}");
    let agent = header(request, "user-agent").unwrap();
    assert!(agent.starts_with("crisp-api-rust/"), "{op}: {agent}");
    assert_eq!(
        header(request, "api-version"),
        None,
        "{op}: Crisp has no api-version"
    );
}

#[tokio::test]
async fn every_operation_sends_its_request_and_decodes_its_answer() {
    let cases = cases();
    assert_eq!(cases.len(), Operation::ALL.len(), "a case per operation");
    for case in &cases {
        check(case).await;
    }
}

#[tokio::test]
async fn unsafe_ids_are_refused_on_every_operation_before_any_io() {
    let huge = "x".repeat(10_000);
    let bad = [
        "",
        " ",
        ".",
        "..",
        "..\\..",
        "a\\b",
        "a\nb",
        "tab\there",
        huge.as_str(),
    ];
    let mut tried = 0;
    for case in cases() {
        let (server, client) = mock(ResponseTemplate::new(200)).await;
        for name in case.string_ids {
            for value in bad {
                let mut ids = Ids::default();
                ids.set(name, value);
                match (case.call)(&client, &ids).await {
                    Err(Error::InvalidRequest {
                        parameter: Some(parameter),
                        ..
                    }) if parameter == *name => {}
                    other => panic!(
                        "{} with {name} = {value:.20?}: expected a refusal, got {other:?}",
                        case.operation.id
                    ),
                }
                tried += 1;
            }
        }
        let received = server.received_requests().await.unwrap();
        assert!(
            received.is_empty(),
            "{}: sent {received:?}",
            case.operation.id
        );
    }
    assert!(tried >= Operation::ALL.len() * bad.len(), "{tried}");
}

#[tokio::test]
async fn ids_travel_as_one_percent_encoded_segment() {
    for case in cases() {
        for name in case.string_ids {
            let response: Value = serde_json::from_str(case.response).unwrap();
            let (server, client) = mock(ResponseTemplate::new(200).set_body_json(response)).await;
            let mut ids = Ids::default();
            ids.set(name, "a/b?c#d%e f");
            (case.call)(&client, &ids)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", case.operation.id));
            let requests = server.received_requests().await.unwrap();
            let path = requests[0].url.path();
            ids.set(name, "a%2Fb%3Fc%23d%25e%20f");
            assert_eq!(path, (case.path)(&ids), "{} {name}", case.operation.id);
        }
    }
}
