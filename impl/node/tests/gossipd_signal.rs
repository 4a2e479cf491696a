//! `gossipd` on SIGTERM and SIGINT: it leaves gracefully (its leave marker is gossiped, so
//! the others list it as `left`, not dead or suspected) and exits with status 0.
#![cfg(unix)]

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Daemon, eventually, json, until_all_see_alive};

fn spawn(name: &str, seeds: &[SocketAddr]) -> Daemon {
    common::spawn_in("signal-test", name, seeds, &["--leave-timeout", "5s"])
}

/// The status `observer` lists for the node named `name`, if listed.
async fn status_of(observer: SocketAddr, name: &str) -> Option<String> {
    let m = json(observer, "/members").await;
    m.as_array()?
        .iter()
        .find(|n| n["name"] == name)
        .and_then(|n| n["status"].as_str().map(str::to_owned))
}

/// Sends `signal` (e.g. "TERM") to the daemon with `kill` (no unsafe code), then waits up to
/// `limit` for it to exit; returns its exit status.
fn signal_and_wait(d: &mut Daemon, signal: &str, limit: Duration) -> std::process::ExitStatus {
    let pid = d.child.id().to_string();
    let ok = Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .expect("run kill");
    assert!(ok.success(), "kill -{signal} {pid} failed");
    let t0 = Instant::now();
    loop {
        if let Some(status) = d.child.try_wait().unwrap() {
            return status;
        }
        assert!(
            t0.elapsed() < limit,
            "{} did not exit within {limit:?} of SIG{signal}",
            d.name
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn sigterm_and_sigint_make_gossipd_leave_gracefully_and_exit_zero() {
    let a = spawn("alpha", &[]);
    let mut b = spawn("beta", &[a.gossip]);
    let mut c = spawn("gamma", &[a.gossip]);
    until_all_see_alive(&[&a, &b, &c], 3, Duration::from_secs(60)).await;
    let (a_admin, c_admin) = (a.admin, c.admin);
    let steps: [(&mut Daemon, &str, Vec<SocketAddr>); 2] = [
        (&mut b, "TERM", vec![a_admin, c_admin]),
        (&mut c, "INT", vec![a_admin]),
    ];
    for (leaver, signal, observers) in steps {
        let name = leaver.name.clone();
        let status = signal_and_wait(leaver, signal, Duration::from_secs(10));
        assert!(
            status.success(),
            "{name} exited with {status} on SIG{signal}"
        );
        for o in observers {
            // Within a few rounds (100 ms each); the leave marker makes it `left` at once,
            // long before a failure detector could call it suspected (and it never does).
            eventually(
                Duration::from_secs(5),
                "the leaver is listed as left",
                async || {
                    let s = status_of(o, &name).await;
                    assert!(
                        matches!(s.as_deref(), Some("alive" | "left")),
                        "{name} is {s:?}, not left"
                    );
                    s.as_deref() == Some("left")
                },
            )
            .await;
        }
    }
}
