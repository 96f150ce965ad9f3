//! The client's own CPU per call, beside a bare `reqwest` + `serde_json` program doing the same
//! requests and decoding the same typed values, against the same local server on loopback.
//!
//! Run with `cargo bench --bench client`. The server runs on its own thread (and runtime); the
//! client side runs on the bench's thread on a current-thread runtime, and its CPU time is read
//! from that thread's clock (`CLOCK_THREAD_CPUTIME_ID`), so the figures are the client's work
//! only: building the request, the HTTP stack, decoding, and, for crisp-api, the grants, budget,
//! retry bookkeeping and audit record.
//!
//! Workloads: get a conversation; walk a 6-page conversation list (5 pages of 20 and one of 7);
//! send a message. Each is measured in alternating rounds (bare, crisp-api, bare, ...); the
//! least of each side's rounds is reported, with their ratio, and the median (and quartiles) of
//! the rounds' own ratios, which the goals are judged on: at most 1.10x the bare call on single
//! calls, 1.05x on the list walk.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use crisp_api::types::{
    GetConversationResponse, ListConversationsResponse, NewMessage, SendMessageResponse,
};
use crisp_api::{Client, Credentials, Grants, Operation};
use futures::TryStreamExt;
use serde_json::json;

const WEBSITE: &str = "8c842203-7ed8-4e29-a608-7cf78a7d2fcc";
const SESSION: &str = "session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881";
const ROUNDS: usize = 101;
/// The page size of the conversation list: the spec's, which the client's stream uses, so the
/// server's pages and the bare walk follow it too.
const PAGE_SIZE: usize = match Operation::LIST_CONVERSATIONS.paging {
    Some(crisp_api::Paging::PageNumber { page_size, .. }) => page_size as usize,
    _ => 20,
};

/// CPU time consumed by the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn conversation(i: usize) -> serde_json::Value {
    json!({
        "session_id": format!("session_{i:08}-85e2-465a-b9ac-ecb5ec2c9881"),
        "website_id": WEBSITE,
        "inbox_id": null,
        "people_id": "c5d2a9f1-3b7e-4f0a-8d61-2e9b4c7a1f05",
        "state": "unresolved",
        "status": 1,
        "is_verified": true,
        "is_blocked": false,
        "availability": "online",
        "active": {"now": true, "last": 1_700_000_000_000_i64},
        "last_message": "Hello, I have a question about my invoice",
        "preview_message": {"type": "text", "from": "user", "excerpt": "Hello, I have a question", "fingerprint": 163_408_221_955_193_i64},
        "topic": "Billing",
        "participants": [],
        "mentions": [],
        "compose": {},
        "unread": {"operator": 1, "visitor": 0},
        "assigned": {"user_id": "aa0b0c3b-1b11-4c9f-b6e5-0e1b5d6a7c42"},
        "meta": {"nickname": "Jane Doe", "email": "jane@example.com", "segments": ["customer"], "data": {}},
        "created_at": 1_700_000_000_000_i64,
        "updated_at": 1_700_000_500_000_i64,
        "waiting_since": 1_700_000_400_000_i64
    })
}

/// The canned answers: by path.
fn answers() -> Arc<Vec<(String, Vec<u8>)>> {
    let envelope = |data: serde_json::Value| {
        serde_json::to_vec(&json!({"error": false, "reason": "resolved", "data": data})).unwrap()
    };
    let mut routes = vec![(
        format!("/v1/website/{WEBSITE}/conversation/{SESSION}"),
        envelope(conversation(0)),
    )];
    for page in 1..=6 {
        let count = if page < 6 { PAGE_SIZE } else { 7 };
        let items: Vec<_> = (0..count).map(|i| conversation(page * 100 + i)).collect();
        routes.push((
            format!("/v1/website/{WEBSITE}/conversations/{page}"),
            envelope(json!(items)),
        ));
    }
    routes.push((
        format!("/v1/website/{WEBSITE}/conversation/{SESSION}/message"),
        serde_json::to_vec(&json!({"error": false, "reason": "dispatched", "data": {"fingerprint": 163_408_221_955_193_i64}})).unwrap(),
    ));
    Arc::new(routes)
}

/// Starts the server on its own thread and runtime; returns its base URL.
fn start_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let routes = answers();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new().fallback(move |request: Request<Body>| {
                let routes = Arc::clone(&routes);
                async move {
                    let path = request.uri().path().to_owned();
                    // Read (and drop) the request body, as a server does.
                    let _ = axum::body::to_bytes(request.into_body(), 1 << 20).await;
                    match routes.iter().find(|(p, _)| *p == path) {
                        Some((_, body)) => Response::builder()
                            .header(header::CONTENT_TYPE, "application/json")
                            .body(Body::from(body.clone()))
                            .unwrap(),
                        None => Response::builder()
                            .status(StatusCode::NOT_FOUND)
                            .body(Body::from(
                                r#"{"error":true,"reason":"not_found","data":{}}"#,
                            ))
                            .unwrap(),
                    }
                }
            });
            axum::serve(listener, app).await.unwrap();
        });
    });
    url
}

fn new_message() -> NewMessage {
    NewMessage::text("We are on it!")
}

/// The bare program: reqwest + serde_json, the same headers, the same typed values.
struct Bare {
    http: reqwest::Client,
    base: String,
}

impl Bare {
    fn new(base: &str) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Basic aWRlbnQ6a2V5".parse().unwrap());
        headers.insert("x-crisp-tier", "plugin".parse().unwrap());
        Self {
            http: reqwest::Client::builder()
                .default_headers(headers)
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            base: base.to_owned(),
        }
    }

    /// Sends `request` and decodes its whole body as `T`: what each bare call does.
    async fn fetch<T: serde::de::DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> T {
        let bytes = request
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    async fn get_conversation(&self) -> GetConversationResponse {
        let url = format!("{}/website/{WEBSITE}/conversation/{SESSION}", self.base);
        self.fetch(self.http.get(url)).await
    }

    async fn walk(&self) -> usize {
        // Every item of every page in one list, as a stream's consumer would collect them.
        let mut all = Vec::new();
        for page in 1.. {
            let url = format!("{}/website/{WEBSITE}/conversations/{page}", self.base);
            let page: ListConversationsResponse = self.fetch(self.http.get(url)).await;
            let len = page.data.len();
            all.extend(page.data);
            if len < PAGE_SIZE {
                break;
            }
        }
        black_box(&all);
        all.len()
    }

    async fn send_message(&self, message: &NewMessage) -> SendMessageResponse {
        let url = format!(
            "{}/website/{WEBSITE}/conversation/{SESSION}/message",
            self.base
        );
        self.fetch(self.http.post(url).json(message)).await
    }
}

/// The same three workloads through crisp-api.
async fn ours_get(client: &Client) -> GetConversationResponse {
    client
        .get_conversation()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .send()
        .await
        .unwrap()
}

async fn ours_walk(client: &Client) -> usize {
    let all: Vec<_> = client
        .list_conversations()
        .website_id(WEBSITE)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 5 * PAGE_SIZE + 7);
    all.len()
}

async fn ours_send(client: &Client, message: &NewMessage) -> SendMessageResponse {
    client
        .send_message()
        .website_id(WEBSITE)
        .session_id(SESSION)
        .body(message.clone())
        .send()
        .await
        .unwrap()
}

/// crisp-api with every policy on: grants, a budget, an audit callback, the default retries.
fn crisp_client(base: &str, audited: Arc<AtomicU64>) -> Client {
    Client::builder(Credentials::plugin("ident", "key"))
        .base_url(base)
        .grants(Grants::for_operations(&[
            &Operation::GET_CONVERSATION,
            &Operation::LIST_CONVERSATIONS,
            &Operation::SEND_MESSAGE,
        ]))
        .daily_budget(u32::MAX)
        .on_audit(move |record| {
            black_box(record);
            audited.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .unwrap()
}

/// CPU per iteration of `f`, over `iterations` runs.
fn cpu_per_call<F: std::future::Future>(
    runtime: &tokio::runtime::Runtime,
    iterations: u32,
    mut f: impl FnMut() -> F,
) -> Duration {
    let start = thread_cpu();
    runtime.block_on(async {
        for _ in 0..iterations {
            black_box(f().await);
        }
    });
    (thread_cpu() - start) / iterations
}

/// The least of the rounds: other work on the machine only ever adds CPU time (cache misses,
/// migrations), so the minimum is the figure closest to the code's own cost.
fn least(values: Vec<Duration>) -> Duration {
    values.into_iter().min().unwrap_or_default()
}

/// Each round's ratio (crisp-api over the bare call measured just before it), sorted: drift on
/// a shared machine moves both sides of a round alike, so their median is steadier than a ratio
/// of two minima taken at different moments.
fn paired_ratios(ours: &[Duration], theirs: &[Duration]) -> Vec<f64> {
    let mut ratios: Vec<f64> = ours
        .iter()
        .zip(theirs)
        .map(|(o, t)| o.as_secs_f64() / t.as_secs_f64().max(f64::MIN_POSITIVE))
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios
}

fn main() {
    let base = start_server();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bare = Bare::new(&base);
    let audited = Arc::new(AtomicU64::new(0));
    let client = if std::env::var_os("CRISP_BENCH_PLAIN").is_some() {
        Client::builder(Credentials::plugin("ident", "key"))
            .base_url(&base)
            .build()
            .unwrap()
    } else {
        crisp_client(&base, Arc::clone(&audited))
    };
    let message = new_message();
    // `--profile get|walk|send bare|ours`: run one side of one workload, for a profiler.
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--profile") {
        let (workload, side) = (args[at + 1].as_str(), args[at + 2].as_str());
        let n: u32 = args.get(at + 3).and_then(|n| n.parse().ok()).unwrap_or(300);
        if workload == "sizes" {
            let ours = client
                .get_conversation()
                .website_id(WEBSITE)
                .session_id(SESSION)
                .send();
            println!(
                "crisp-api get_conversation send(): {} bytes",
                std::mem::size_of_val(&ours)
            );
            let bare_fut = bare.get_conversation();
            println!(
                "bare get_conversation: {} bytes",
                std::mem::size_of_val(&bare_fut)
            );
            let stream = client.list_conversations().website_id(WEBSITE).stream();
            println!("stream: {} bytes", std::mem::size_of_val(&stream));
            let send = client
                .send_message()
                .website_id(WEBSITE)
                .session_id(SESSION)
                .body(message.clone())
                .send();
            println!(
                "send_message send(): {} bytes",
                std::mem::size_of_val(&send)
            );
            println!(
                "GetConversationResponse: {} bytes",
                std::mem::size_of::<GetConversationResponse>()
            );
            println!(
                "crisp_api::Error: {} bytes",
                std::mem::size_of::<crisp_api::Error>()
            );
            println!(
                "AuditRecord: {} bytes",
                std::mem::size_of::<crisp_api::AuditRecord>()
            );
            return;
        }
        let cpu = match (workload, side) {
            ("get", "bare") => cpu_per_call(&runtime, n, || bare.get_conversation()),
            ("get", _) => cpu_per_call(&runtime, n, || ours_get(&client)),
            ("walk", "bare") => cpu_per_call(&runtime, n / 6, || bare.walk()),
            ("walk", _) => cpu_per_call(&runtime, n / 6, || ours_walk(&client)),
            (_, "bare") => cpu_per_call(&runtime, n, || bare.send_message(&message)),
            _ => cpu_per_call(&runtime, n, || ours_send(&client, &message)),
        };
        println!("{workload} {side}: {:.1} us", cpu.as_secs_f64() * 1e6);
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let iterations = if quick { 200 } else { 300 };
    let rounds = if quick { 3 } else { ROUNDS };

    // Warm up both (connections, allocator, caches).
    cpu_per_call(&runtime, iterations, || bare.get_conversation());
    cpu_per_call(&runtime, iterations, || ours_get(&client));

    println!(
        "client CPU per call on loopback, {rounds} alternating rounds of {iterations} calls (client and server on their own threads); goals judged on the median of the rounds' ratios"
    );
    let started = Instant::now();
    for (label, goal) in [
        ("get a conversation", 1.10),
        ("walk a 6-page conversation list", 1.05),
        ("send a message", 1.10),
    ] {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            match label {
                "get a conversation" => {
                    theirs.push(cpu_per_call(&runtime, iterations, || {
                        bare.get_conversation()
                    }));
                    ours.push(cpu_per_call(&runtime, iterations, || ours_get(&client)));
                }
                "walk a 6-page conversation list" => {
                    let n = iterations / 6;
                    theirs.push(cpu_per_call(&runtime, n, || bare.walk()));
                    ours.push(cpu_per_call(&runtime, n, || ours_walk(&client)));
                }
                _ => {
                    theirs.push(cpu_per_call(&runtime, iterations, || {
                        bare.send_message(&message)
                    }));
                    ours.push(cpu_per_call(&runtime, iterations, || {
                        ours_send(&client, &message)
                    }));
                }
            }
        }
        let paired = paired_ratios(&ours, &theirs);
        let (ours, theirs) = (least(ours), least(theirs));
        let ratio = ours.as_secs_f64() / theirs.as_secs_f64();
        let median = paired[paired.len() / 2];
        let verdict = if median <= goal {
            "ok"
        } else {
            "over the goal"
        };
        println!(
            "{label:<34} crisp-api {:>8.1} us   bare reqwest+serde {:>8.1} us   ratio of the least {ratio:.3}, median of rounds {median:.3} (quartiles {:.3} to {:.3}; goal {goal:.2}: {verdict})",
            ours.as_secs_f64() * 1e6,
            theirs.as_secs_f64() * 1e6,
            paired[paired.len() / 4],
            paired[paired.len() * 3 / 4],
        );
    }
    println!(
        "{} audit records; measured in {:.1} s",
        audited.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
}
