//! Many clients at once, each answer checked. Bounded in time generously: this proves that
//! concurrent requests are all answered correctly, not how fast (the `load` example measures).

use crate::support::*;
use std::sync::Barrier;
use std::time::{Duration, Instant};

#[test]
fn thirty_two_clients_at_once_all_get_the_right_answers() {
    const CLIENTS: usize = 32;
    const REQUESTS: usize = 50;
    let reviews = [
        POSITIVE,
        NEGATIVE,
        "Not bad at all. I expected to hate it, but it was actually quite good.",
        "The cast is great, but the script is weak and the ending is a letdown.",
        "Dull and far too long.",
        "",
        "A masterpiece.",
        "zzqx",
    ];
    let expected = classifier().explain(&reviews);
    server();
    let barrier = Barrier::new(CLIENTS);
    let start = Instant::now();
    std::thread::scope(|s| {
        for client in 0..CLIENTS {
            let (barrier, reviews, expected) = (&barrier, &reviews, &expected);
            s.spawn(move || {
                barrier.wait();
                let mut conn = Conn::open();
                for i in 0..REQUESTS {
                    // Mostly kept-alive connections, and a fresh one now and then.
                    if i % 10 == 9 {
                        conn = Conn::open();
                    }
                    let k = (client + i) % reviews.len();
                    let reply = conn.request(
                        "POST",
                        "/api/predict",
                        &[("Content-Type", "application/json")],
                        predict_body(&[reviews[k]]).as_bytes(),
                    );
                    assert_eq!(reply.status, 200, "client {client}, request {i}");
                    assert_answer(&reply.json()["predictions"][0], &expected[k]);
                }
            });
        }
    });
    let elapsed = start.elapsed();
    println!(
        "{} requests from {CLIENTS} clients in {:.2} s",
        CLIENTS * REQUESTS,
        elapsed.as_secs_f64()
    );
    assert!(elapsed < Duration::from_secs(300), "{elapsed:?}");
}
