//! `crisp_serve::serve` on real loopback connections: half-sent request heads are closed after
//! the header-read timeout while a well-formed client is still answered, idle keep-alive
//! connections are closed, connections beyond the cap wait for a free slot, and shutdown lets
//! the request in flight finish.
//!
//! Timeouts here are short and waits generous: nothing asserts how fast anything happens; the
//! outer `within` bounds only turn a hang into a failure.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use crisp_serve::{Limits, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;

/// Fails the test if `future` has not completed after a generous wait.
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .unwrap_or_else(|_| panic!("still waiting for {what} after 30 s"))
}

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

async fn start(router: Router, limits: Limits) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, router, limits, async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        stop: Some(stop),
        task,
    }
}

fn hello() -> Router {
    Router::new().route("/", get(|| async { "ok" }))
}

/// Sends one complete request with `Connection: close` and reads the whole answer.
async fn request(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

/// Whether the server closed `stream`: it reads end-of-file or a reset (never an answer).
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 256];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return true,
            // hyper may write a 408 before closing; what matters is that it closes.
            Ok(_) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_heads_are_closed_and_a_well_formed_client_is_answered() {
    let limits = Limits::default()
        .header_read_timeout(Duration::from_millis(300))
        .max_connections(16);
    let server = start(hello(), limits).await;

    // Four times the cap: half of a request head each, or nothing at all.
    let mut idle = Vec::new();
    for i in 0..64 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        if i % 4 != 0 {
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: test\r\nX-Half: ")
                .await
                .unwrap();
        }
        idle.push(stream);
    }

    let answer = within("the well-formed request", request(server.addr, "/")).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");

    for (i, stream) in idle.iter_mut().enumerate() {
        let closed = within("a half-open connection to close", closed_by_server(stream)).await;
        assert!(closed, "connection {i}");
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_timeout() {
    let limits = Limits::default().header_read_timeout(Duration::from_millis(200));
    let server = start(hello(), limits).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 512];
    while !answer.ends_with(b"ok") {
        let n = within("the answer", stream.read(&mut buffer))
            .await
            .unwrap();
        assert!(n > 0, "closed before the answer");
        answer.extend_from_slice(&buffer[..n]);
    }
    assert!(answer.starts_with(b"HTTP/1.1 200 OK"));
    // Kept alive, then closed for waiting too long for a next request.
    assert!(
        within(
            "the idle connection to close",
            closed_by_server(&mut stream)
        )
        .await
    );
}

/// What the gated handlers share: a log of events, and the permits they wait for.
type Gate = (Arc<Mutex<Vec<String>>>, Arc<Semaphore>);

/// A router whose `/{n}` handler notes `enter n` and then waits for a permit of `gate`.
fn gated(log: Arc<Mutex<Vec<String>>>, gate: Arc<Semaphore>) -> Router {
    async fn handler(State((log, gate)): State<Gate>, Path(n): Path<u32>) -> &'static str {
        log.lock().unwrap().push(format!("enter {n}"));
        gate.acquire().await.unwrap().forget();
        "done"
    }
    Router::new()
        .route("/{n}", get(handler))
        .with_state((log, gate))
}

async fn wait_for(log: &Mutex<Vec<String>>, entries: usize) {
    within("the handlers to start", async {
        while log.lock().unwrap().len() < entries {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_beyond_the_cap_waits_for_a_free_slot() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let gate = Arc::new(Semaphore::new(0));
    let limits = Limits::default()
        .header_read_timeout(Duration::from_secs(60))
        .max_connections(2);
    let server = start(gated(Arc::clone(&log), Arc::clone(&gate)), limits).await;
    let first = tokio::spawn(request(server.addr, "/1"));
    let second = tokio::spawn(request(server.addr, "/2"));
    wait_for(&log, 2).await;

    let third = tokio::spawn(request(server.addr, "/3"));
    // Time for the third to be served if the cap did not hold it back. (If the machine is too
    // slow to get there, the test passes without having proved anything; it never fails for
    // a server that keeps the cap.)
    tokio::time::sleep(Duration::from_millis(300)).await;
    log.lock().unwrap().push("release".to_owned());
    gate.add_permits(3);
    for task in [first, second, third] {
        let answer = within("every answer", task).await.unwrap();
        assert!(answer.ends_with("done"), "{answer}");
    }
    let log = log.lock().unwrap().clone();
    let release = log.iter().position(|e| e == "release").unwrap();
    let third = log.iter().position(|e| e == "enter 3").unwrap();
    assert!(
        third > release,
        "the third connection was served while two were open: {log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_accepting_and_lets_the_request_in_flight_finish() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let gate = Arc::new(Semaphore::new(0));
    let mut server = start(
        gated(Arc::clone(&log), Arc::clone(&gate)),
        Limits::default(),
    )
    .await;
    let in_flight = tokio::spawn(request(server.addr, "/1"));
    wait_for(&log, 1).await;

    let _ = server.stop.take().unwrap().send(());
    within("the listener to close", async {
        while TcpStream::connect(server.addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    // Time for `serve` to return if it did not wait (a correct server never returns here).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !server.task.is_finished(),
        "returned with a request in flight"
    );

    gate.add_permits(1);
    let answer = within("the request in flight", in_flight).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with("done"), "{answer}");
    within("serve to return", server.task).await.unwrap();
}
