//! The JSON API against the library, every refusal, and the server carrying on after each.

use crate::support::*;
use imdb_serve::limits::{MAX_BODY_BYTES, MAX_HEAD_BYTES, MAX_REVIEW_CHARS, MAX_REVIEWS};
use serde_json::Value;

#[test]
fn predictions_equal_the_classifiers() {
    let reviews = [
        POSITIVE,
        NEGATIVE,
        "",
        "zzqx blorf",
        "Don't miss it!<br /><br />A <i>10/10</i> film.",
        "ÉCOLE Straße: the İstanbul scenes are GREAT",
        "the the the",
    ];
    let reply = post_json(&predict_body(&reviews));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    let answers = body["predictions"].as_array().unwrap();
    let expected = classifier().explain(&reviews);
    assert_eq!(answers.len(), reviews.len());
    for (answer, expected) in answers.iter().zip(&expected) {
        assert_answer(answer, expected);
    }
    // `explain`'s predictions are `predict`'s: the API answers what `predict` says.
    assert_eq!(
        expected
            .iter()
            .map(|e| e.prediction.clone())
            .collect::<Vec<_>>(),
        classifier().predict(&reviews)
    );
    assert_eq!(answers[0]["label"], "positive");
    assert_eq!(answers[1]["label"], "negative");
    // No reviews, no answers.
    let reply = post_json(r#"{"reviews": []}"#);
    assert_eq!(
        (reply.status, reply.json()),
        (200, serde_json::json!({"predictions": []}))
    );
}

#[test]
fn the_model_is_described() {
    let reply = get("/api/model");
    assert_eq!(reply.status, 200);
    let info = reply.json();
    let c = classifier();
    assert_eq!(info["variant"], "baseline");
    assert!(info["test_accuracy"].as_f64().unwrap() > 0.75, "{info}");
    assert_eq!(info["vocabulary_size"], c.word_index().len());
    assert_eq!(info["input_width"], c.model().input_size());
    assert_eq!(
        info["encoding"],
        serde_json::to_value(c.encoding()).unwrap()
    );
    assert_eq!(info["network"]["hidden"], serde_json::json!([16, 16]));
    assert_eq!(info["top_words"], imdb_serve::TOP_WORDS);
    assert_eq!(
        info["limits"],
        serde_json::json!({
            "max_body_bytes": MAX_BODY_BYTES,
            "max_reviews": MAX_REVIEWS,
            "max_review_chars": MAX_REVIEW_CHARS,
            "max_head_bytes": MAX_HEAD_BYTES,
        })
    );
}

/// A request that must be refused with `status` and a JSON error, after which the server
/// still answers a good request.
fn assert_refused(what: &str, reply: Reply, status: u16) {
    assert_eq!(
        reply.status,
        status,
        "{what}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{what}"
    );
    let error = reply.json();
    assert!(
        error["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{what}: {error}"
    );
    let good = post_json(&predict_body(&[POSITIVE]));
    assert_eq!(good.status, 200, "after {what}");
    assert_eq!(
        good.json()["predictions"][0]["label"],
        "positive",
        "after {what}"
    );
}

fn post(content_type: Option<&str>, body: &[u8]) -> Reply {
    let headers: Vec<(&str, &str)> = content_type
        .map(|t| ("Content-Type", t))
        .into_iter()
        .collect();
    Conn::open().request("POST", "/api/predict", &headers, body)
}

#[test]
fn bad_bodies_get_400() {
    for (what, body) in [
        ("malformed JSON", "{\"reviews\": [\"good\""),
        ("not JSON at all", "reviews=good"),
        ("reviews not a list", r#"{"reviews": "good"}"#),
        ("a review not a string", r#"{"reviews": [1]}"#),
        ("no reviews field", r#"{"texts": ["good"]}"#),
        ("an unknown field", r#"{"reviews": ["good"], "top": 3}"#),
        ("a lone surrogate", r#"{"reviews": ["\ud800"]}"#),
        ("empty body", ""),
    ] {
        assert_refused(what, post(Some("application/json"), body.as_bytes()), 400);
    }
    assert_refused(
        "invalid UTF-8",
        post(Some("application/json"), b"{\"reviews\": [\"\xff\"]}"),
        400,
    );
}

#[test]
fn wrong_content_types_get_415() {
    let body = predict_body(&[POSITIVE]);
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
    ] {
        assert_refused(
            &format!("{content_type:?}"),
            post(content_type, body.as_bytes()),
            415,
        );
    }
    // Parameters and case are fine.
    let reply = post(Some("Application/JSON; charset=utf-8"), body.as_bytes());
    assert_eq!(reply.status, 200);
}

#[test]
fn sizes_over_the_limits_get_413() {
    // Exactly at each limit is fine.
    let longest = "é".repeat(MAX_REVIEW_CHARS);
    let reply = post_json(&predict_body(&[&longest]));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let most = vec!["fine"; MAX_REVIEWS];
    assert_eq!(post_json(&predict_body(&most)).status, 200);

    let too_long = "a".repeat(MAX_REVIEW_CHARS + 1);
    assert_refused(
        "a review too long",
        post_json(&predict_body(&["ok", &too_long])),
        413,
    );
    let too_many = vec!["fine"; MAX_REVIEWS + 1];
    assert_refused("too many reviews", post_json(&predict_body(&too_many)), 413);
    // A body over the limit, sent whole: refused without being read.
    let big = format!(r#"{{"reviews": ["{}"]}}"#, "a ".repeat(MAX_BODY_BYTES / 2));
    assert!(big.len() > MAX_BODY_BYTES);
    assert_refused(
        "a body too large",
        post(Some("application/json"), big.as_bytes()),
        413,
    );
    // Declared but never sent, however large: nothing is allocated for it.
    for declared in [(MAX_BODY_BYTES + 1).to_string(), "100000000000000".into()] {
        let mut conn = Conn::open();
        conn.send_raw(
            format!(
                "POST /api/predict HTTP/1.1\r\nContent-Type: application/json\r\n\
                 Content-Length: {declared}\r\n\r\n{{"
            )
            .as_bytes(),
        );
        assert_refused(
            &format!("Content-Length {declared}"),
            conn.read_reply(),
            413,
        );
        assert!(conn.is_closed(), "the connection of a refused body closes");
    }
}

#[test]
fn unknown_routes_and_methods_get_404_and_405() {
    assert_refused("unknown page", get("/nope"), 404);
    assert_refused("unknown API", get("/api/predict/x"), 404);
    let reply = get("/api/predict");
    assert_eq!(reply.header("allow"), Some("POST"));
    assert_refused("GET on the predict API", reply, 405);
    let reply = Conn::open().request("DELETE", "/api/model", &[], b"");
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    assert_refused("DELETE", reply, 405);
    assert_refused(
        "POST on the page",
        Conn::open().request("POST", "/", &[("Content-Type", "application/json")], b"{}"),
        405,
    );
}

#[test]
fn requests_it_cannot_frame_get_refused_and_closed() {
    let cases: [(&str, String, u16); 5] = [
        ("garbage", "HELLO THERE\r\n\r\n".into(), 400),
        ("bad Content-Length", "POST /api/predict HTTP/1.1\r\nContent-Length: lots\r\n\r\n".into(), 400),
        ("chunked", "POST /api/predict HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".into(), 411),
        ("huge head", format!("GET /?review={} HTTP/1.1\r\n\r\n", "a".repeat(MAX_HEAD_BYTES)), 431),
        ("unknown expectation", "POST /api/predict HTTP/1.1\r\nExpect: magic\r\nContent-Length: 2\r\n\r\n{}".into(), 417),
    ];
    for (what, raw, status) in cases {
        let mut conn = Conn::open();
        conn.send_raw(raw.as_bytes());
        assert_refused(what, conn.read_reply(), status);
        assert!(conn.is_closed(), "{what}: closed after the refusal");
    }
}

#[test]
fn one_connection_serves_many_requests() {
    let mut conn = Conn::open();
    let json = [("Content-Type", "application/json")];
    for review in [POSITIVE, NEGATIVE, POSITIVE] {
        let reply = conn.request(
            "POST",
            "/api/predict",
            &json,
            predict_body(&[review]).as_bytes(),
        );
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("connection"), Some("keep-alive"));
    }
    // A refusal that leaves the framing intact keeps the connection.
    assert_eq!(conn.request("GET", "/nope", &[], b"").status, 404);
    assert_eq!(conn.request("POST", "/api/predict", &[], b"{}").status, 415);
    // `Expect: 100-continue`, as curl sends for large bodies.
    let body = predict_body(&[NEGATIVE]);
    let reply = conn.request(
        "POST",
        "/api/predict",
        &[
            ("Content-Type", "application/json"),
            ("Expect", "100-continue"),
        ],
        body.as_bytes(),
    );
    assert_eq!(reply.json()["predictions"][0]["label"], "negative");
    // HEAD: the headers of GET, no body.
    conn.send_raw(b"HEAD /api/model HTTP/1.1\r\n\r\n");
    let reply = conn.read_head_reply();
    assert_eq!(reply.status, 200);
    assert!(reply.header("content-length").unwrap() != "0");
    let reply = conn.request("GET", "/api/model", &[("Connection", "close")], b"");
    assert_eq!(
        (reply.status, reply.header("connection")),
        (200, Some("close"))
    );
    assert!(conn.is_closed());
}

#[test]
fn a_stalled_client_does_not_hold_up_the_others() {
    let mut stalled = Conn::open();
    stalled.send_raw(b"POST /api/predict HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"rev");
    let mut silent = Conn::open();
    silent.send_raw(b"GET / HT");
    let reply = post_json(&predict_body(&[NEGATIVE]));
    assert_eq!(reply.json()["predictions"][0]["label"], "negative");
}

#[test]
fn the_page_carries_a_linked_review_and_its_result() {
    let reply = get("/");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = reply.header("content-security-policy").unwrap();
    assert!(
        csp.starts_with("default-src 'none'; script-src 'sha256-"),
        "{csp}"
    );
    assert!(state_of(&reply)["review"].is_null());

    // `/?review=…` (with `+` or `%20` for spaces) is classified in the page itself.
    let link = format!("/?review={}", percent_encode(POSITIVE).replace("%20", "+"));
    let reply = get(&link);
    assert_eq!(reply.status, 200);
    let state = state_of(&reply);
    assert_eq!(state["review"], POSITIVE);
    assert_answer(&state["result"], &classifier().explain(&[POSITIVE])[0]);

    // A review is data, never markup: it cannot close the script element that holds it.
    let evil = "</script><script>alert(1)</script><!-- great";
    let reply = get(&format!("/?review={}", percent_encode(evil)));
    assert_eq!(
        reply.text().matches("</script>").count(),
        2,
        "only the page's own"
    );
    assert_eq!(state_of(&reply)["review"], evil);

    // Too long for the limit: the page says so.
    let reply = get(&format!("/?review={}", "a".repeat(MAX_REVIEW_CHARS + 1)));
    assert_eq!(reply.status, 413);
    let state = state_of(&reply);
    assert!(state["result"].is_null());
    assert!(
        state["error"].as_str().unwrap().contains("limit"),
        "{state}"
    );
}

/// The page's initial state, the JSON in its `<script id="state">`.
fn state_of(page: &Reply) -> Value {
    let html = page.text();
    let open = r#"<script id="state" type="application/json">"#;
    let start = html.find(open).unwrap() + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}
