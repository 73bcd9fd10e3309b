//! `faasrt pipe` against a real `faasrt serve`: the same output and exit
//! status as the shell's pipeline, and an endless input that ends.

use crate::cli::Serve;
use crate::support::{Http, example, shell};
use hyper::StatusCode;

/// Deploys the example functions the pipelines below use.
fn deploy_examples(server: &Serve) {
    let http = Http::new(server.addr(), Some(server.token()));
    tokio::runtime::Runtime::new()
        .expect("tokio")
        .block_on(async {
            for name in ["cat", "grep", "wc", "head"] {
                assert_eq!(
                    http.deploy(name, example(name)).await.status,
                    StatusCode::CREATED,
                    "deploy {name}"
                );
            }
        });
}

#[test]
fn faasrt_pipe_agrees_with_the_shell_and_stops_an_endless_input() {
    let server = Serve::start_with(&[]);
    deploy_examples(&server);
    let faasrt = env!("CARGO_BIN_EXE_faasrt");
    let script = format!(
        "export FAASRT_SERVER=http://{addr}; seq 1 200000 | {faasrt} pipe 'grep 7 | wc -l'",
        addr = server.addr()
    );
    assert_eq!(
        shell(&script),
        shell("seq 1 200000 | grep 7 | wc -l").trim_start()
    );
    // `yes` never ends: the pipeline does, and so does faasrt.
    let script = format!(
        "export FAASRT_SERVER=http://{addr}; yes | timeout 20 {faasrt} pipe 'cat | head -n 5'; echo status $?",
        addr = server.addr()
    );
    assert_eq!(shell(&script), "y\ny\ny\ny\ny\nstatus 0\n");
    // The exit status is the last stage's; --json adds every stage's.
    let script = format!(
        "export FAASRT_SERVER=http://{addr}; seq 1 5 | {faasrt} --json pipe 'cat | grep zebra' 2>&1; echo status $?",
        addr = server.addr()
    );
    assert_eq!(
        shell(&script),
        "{\"exit_code\":1,\"pipestatus\":[0,1]}\nstatus 1\n"
    );
}
