//! The real binary's connection handling, over raw sockets: header-read and keep-alive
//! timeouts, the connection cap, and where `/metrics` is served.

use std::{
    io::{self, Read, Write},
    net::{SocketAddr, TcpStream},
    process::{Command, Stdio},
    thread::sleep,
    time::{Duration, Instant},
};

use crate::cli::{Scratch, Server, free_port};

/// Far beyond every timeout a test sets: a socket still open after this was left open.
const PATIENCE: Duration = Duration::from_secs(10);

/// Starts `tantana` on a free port with `env` and waits until `/healthz` answers.
fn start(scratch: &Scratch, env: &[(&str, &str)]) -> (Server, SocketAddr) {
    let address: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let database_url = scratch.database_url();
    let bind = address.to_string();
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_tantana"))
            .env_clear()
            .envs([("DATABASE_URL", database_url.as_str()), ("SECRET_KEY", "k"), ("BIND", bind.as_str())])
            .envs(env.iter().copied())
            .current_dir(&scratch.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..100 {
        if get(address, "/healthz").is_ok_and(|response| response.starts_with("HTTP/1.1 200")) {
            return (server, address);
        }
        sleep(Duration::from_millis(100));
    }
    panic!("the server did not come up on {address}");
}

/// One request on a fresh connection that the server closes after answering.
fn get(address: SocketAddr, path: &str) -> io::Result<String> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(PATIENCE))?;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: tantana\r\nConnection: close\r\n\r\n").as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

/// A kept-alive connection with one `/healthz` answered on it.
fn kept_alive(address: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    send_healthz(&mut stream);
    let response = read_response(&mut stream).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    stream
}

fn send_healthz(stream: &mut TcpStream) {
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: tantana\r\n\r\n").unwrap();
}

/// Reads one response (head and `Content-Length` body) without waiting for the connection to end.
fn read_response(stream: &mut TcpStream) -> io::Result<String> {
    let mut bytes = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length = text[..head_end]
                .lines()
                .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|n| n.trim().to_owned()))
                .map_or(0, |n| n.parse::<usize>().unwrap());
            if bytes.len() >= head_end + 4 + length {
                return Ok(text);
            }
        }
        match stream.read(&mut chunk)? {
            0 => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("closed after {text:?}"))),
            read => bytes.extend_from_slice(&chunk[..read]),
        }
    }
}

/// Waits up to `PATIENCE` for the server to close `stream`, writing `trickle` (if any) one byte
/// every 200 ms meanwhile; true when it closed.
fn closed_by_server(stream: &mut TcpStream, trickle: &[u8]) -> bool {
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut trickle = trickle.iter();
    let started = Instant::now();
    let mut chunk = [0; 1024];
    while started.elapsed() < PATIENCE {
        match stream.read(&mut chunk) {
            Ok(0) => return true,
            // Whatever the server says before closing is not the point.
            Ok(_) => {}
            Err(error) if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                if let Some(byte) = trickle.next()
                    && stream.write_all(&[*byte]).is_err()
                {
                    return true;
                }
            }
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn a_connection_that_trickles_its_headers_is_closed_after_the_header_read_timeout() {
    let scratch = Scratch::new();
    let (_server, address) =
        start(&scratch, &[("HTTP_HEADER_READ_TIMEOUT_SECS", "1"), ("HTTP_KEEPALIVE_TIMEOUT_SECS", "600")]);

    let mut slow = TcpStream::connect(address).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: tantana\r\n").unwrap();
    // A header line a byte at a time: each byte is activity, none of it finishes the headers.
    assert!(closed_by_server(&mut slow, b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));

    let mut silent = TcpStream::connect(address).unwrap();
    assert!(closed_by_server(&mut silent, b""), "a connection that never sends a byte stays open");

    // Headers sent in time are answered.
    assert!(get(address, "/healthz").unwrap().starts_with("HTTP/1.1 200"));
}

#[test]
fn an_idle_kept_alive_connection_is_closed_after_the_keepalive_timeout_and_a_slow_request_is_not() {
    let scratch = Scratch::new();
    let (_server, address) =
        start(&scratch, &[("HTTP_HEADER_READ_TIMEOUT_SECS", "2"), ("HTTP_KEEPALIVE_TIMEOUT_SECS", "2")]);

    let mut connection = kept_alive(address);
    // Kept alive: a second request on it is answered.
    send_healthz(&mut connection);
    assert!(read_response(&mut connection).unwrap().starts_with("HTTP/1.1 200"));
    assert!(closed_by_server(&mut connection, b""), "an idle kept-alive connection stays open");

    // A request whose body takes longer than both timeouts is in flight, not idle: it is answered.
    let body = br#"{"phone_number": "+998901234567"}"#;
    let mut slow = TcpStream::connect(address).unwrap();
    slow.set_read_timeout(Some(PATIENCE)).unwrap();
    let head = format!(
        "POST /api/v1/users/check-user/ HTTP/1.1\r\nHost: tantana\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    slow.write_all(head.as_bytes()).unwrap();
    for part in body.chunks(body.len().div_ceil(6)) {
        sleep(Duration::from_millis(800));
        slow.write_all(part).unwrap();
    }
    let response = read_response(&mut slow).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[test]
fn at_the_connection_cap_new_clients_wait_until_a_connection_closes() {
    let scratch = Scratch::new();
    let (_server, address) = start(
        &scratch,
        &[
            ("HTTP_MAX_CONNECTIONS", "2"),
            ("HTTP_HEADER_READ_TIMEOUT_SECS", "600"),
            ("HTTP_KEEPALIVE_TIMEOUT_SECS", "600"),
        ],
    );
    let holders = [kept_alive(address), kept_alive(address)];

    // The kernel completes the handshake; the server does not accept, so nobody answers.
    let mut waiting = TcpStream::connect(address).unwrap();
    send_healthz(&mut waiting);
    waiting.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let early = read_response(&mut waiting);
    assert!(
        early.as_ref().is_err_and(|error| matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)),
        "answered over the cap: {early:?}"
    );

    drop(holders);
    waiting.set_read_timeout(Some(PATIENCE)).unwrap();
    let response = read_response(&mut waiting).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    // The slots came back: the server keeps answering.
    drop(waiting);
    for _ in 0..3 {
        assert!(get(address, "/healthz").unwrap().starts_with("HTTP/1.1 200"));
    }
}

#[test]
fn with_debug_off_metrics_leave_the_public_port_for_metrics_bind() {
    let scratch = Scratch::new();
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let metrics_bind = metrics.to_string();
    let (_server, address) = start(
        &scratch,
        &[
            ("DEBUG", "false"),
            ("SECRET_KEY", "a-production-grade-secret-key-0123456789-abcdefghijklmnop"),
            ("SMS_BACKEND", "console"),
            ("METRICS_BIND", &metrics_bind),
        ],
    );

    let public = get(address, "/metrics").unwrap();
    assert!(public.starts_with("HTTP/1.1 404"), "{public}");
    assert!(public.contains(r#""status_code":404"#) && public.contains(r#""success":false"#), "{public}");

    let scraped = get(metrics, "/metrics").unwrap();
    assert!(scraped.starts_with("HTTP/1.1 200"), "{scraped}");
    assert!(scraped.contains("password_hash_queue_depth"), "{scraped}");
    // Only the scrape is there.
    assert!(get(metrics, "/healthz").unwrap().starts_with("HTTP/1.1 404"));
}

#[test]
fn sigterm_closes_idle_connections_finishes_the_request_in_flight_and_exits() {
    let scratch = Scratch::new();
    let (mut server, address) = start(&scratch, &[]);
    let mut idle = kept_alive(address);
    let body = br#"{"phone_number": "+998901234567"}"#;
    let mut in_flight = TcpStream::connect(address).unwrap();
    in_flight.set_read_timeout(Some(PATIENCE)).unwrap();
    let head = format!(
        "POST /api/v1/users/check-user/ HTTP/1.1\r\nHost: tantana\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    in_flight.write_all(head.as_bytes()).unwrap();
    in_flight.write_all(&body[..10]).unwrap();
    sleep(Duration::from_millis(300));

    assert!(Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().unwrap().success());
    assert!(closed_by_server(&mut idle, b""), "an idle connection kept the server from stopping");
    assert!(TcpStream::connect(address).is_err(), "a stopping server still accepts connections");
    in_flight.write_all(&body[10..]).unwrap();
    let response = read_response(&mut in_flight).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    drop(in_flight);

    let started = Instant::now();
    let exited = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > PATIENCE {
            break None;
        }
        sleep(Duration::from_millis(50));
    };
    assert!(exited.is_some_and(|status| status.success()), "{exited:?}");
}
