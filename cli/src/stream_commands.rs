//! `faasrt stream ...`: streams through the server's `/v1/streams` API.

use crate::StreamCommand;
use crate::client::{Client, checked};
use crate::session::{CommandFuture, client};
use anyhow::Context;
use bytes::Bytes;
use faasrt_server::NEXT_OFFSET_HEADER;
use hyper::Method;
use serde_json::Value;
use std::io::{Read, Write};

/// Runs one `faasrt stream` subcommand.
pub(crate) fn run(command: StreamCommand, json: bool) -> CommandFuture {
    Box::pin(async move {
        use StreamCommand as S;
        match command {
            S::Create {
                name,
                spec,
                client: args,
            } => {
                let spec = read_spec(&spec)?;
                let path = format!("/v1/streams/{}", checked(&name)?);
                let status = client(&args)?.call_json(Method::PUT, &path, spec).await?;
                print_status(&status, json);
            }
            S::Start(args) => control(args, "start", json).await?,
            S::Drain(args) => control(args, "drain", json).await?,
            S::Stop(args) => control(args, "stop", json).await?,
            S::Status(args) => {
                let path = format!("/v1/streams/{}", checked(&args.name)?);
                let status = client(&args.client)?
                    .call_json(Method::GET, &path, Bytes::new())
                    .await?;
                print_status(&status, json);
            }
            S::Scale {
                name,
                index,
                replicas,
                client: args,
            } => {
                let change = serde_json::json!({ "replicas": replicas });
                let done = change_stage(&args, &name, index, &change).await?;
                if json {
                    println!("{done}");
                } else {
                    println!(
                        "stage {index}: {} -> {} replicas at epoch {}, {} slots moved",
                        done["from"], done["replicas"], done["epoch"], done["slots_moved"]
                    );
                }
            }
            S::Upgrade {
                name,
                index,
                function,
                client: args,
            } => {
                let change = serde_json::json!({ "function": function });
                let done = change_stage(&args, &name, index, &change).await?;
                if json {
                    println!("{done}");
                } else {
                    println!(
                        "stage {index}: {} -> {} at epoch {} (kept once an epoch commits with it)",
                        text(&done["from"]),
                        text(&done["function"]),
                        done["epoch"]
                    );
                }
            }
            S::Ls(args) => {
                let listed = client(&args)?
                    .call_json(Method::GET, "/v1/streams", Bytes::new())
                    .await?;
                if json {
                    println!("{}", listed["streams"]);
                } else {
                    println!(
                        "{:<24} {:<11} {:>8} {:>10} {:>8}",
                        "NAME", "STATE", "EPOCH", "OUTPUT", "LAG"
                    );
                    for stream in listed["streams"].as_array().into_iter().flatten() {
                        println!(
                            "{:<24} {:<11} {:>8} {:>10} {:>8}",
                            text(&stream["name"]),
                            text(&stream["state"]),
                            stream["checkpoint"]["epoch"],
                            stream["checkpoint"]["output_end"],
                            stream["input"]["lag"]
                        );
                    }
                }
            }
            S::Rm(args) => {
                let path = format!("/v1/streams/{}", checked(&args.name)?);
                let removed = client(&args.client)?
                    .call_json(Method::DELETE, &path, Bytes::new())
                    .await?;
                if json {
                    println!("{removed}");
                } else {
                    println!("removed stream {}", text(&removed["name"]));
                }
            }
            S::Send(args) => {
                let mut input = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut input)
                    .context("cannot read stdin")?;
                let path = format!("/v1/streams/{}/records", checked(&args.name)?);
                let ack = client(&args.client)?
                    .call_json(Method::POST, &path, input.into())
                    .await?;
                if json {
                    println!("{ack}");
                } else {
                    println!(
                        "{} records appended at offsets {}..{}",
                        ack["records"], ack["first_offset"], ack["next_offset"]
                    );
                }
            }
            S::Output {
                name,
                from,
                follow,
                client: args,
            } => {
                output(&client(&args)?, &name, from, follow).await?;
            }
        }
        Ok(0)
    })
}

/// `start`, `drain` and `stop`: one POST each, answered with the status.
async fn control(args: crate::StreamNameArgs, action: &str, json: bool) -> anyhow::Result<()> {
    let path = format!("/v1/streams/{}/{action}", checked(&args.name)?);
    let status = client(&args.client)?
        .call_json(Method::POST, &path, Bytes::new())
        .await?;
    print_status(&status, json);
    Ok(())
}

/// `PATCH /v1/streams/{name}/stages/{index}` with `change`; the answer.
async fn change_stage(
    args: &crate::ClientArgs,
    name: &str,
    index: usize,
    change: &Value,
) -> anyhow::Result<Value> {
    let path = format!("/v1/streams/{}/stages/{index}", checked(name)?);
    let body = Bytes::from(serde_json::to_vec(change)?);
    Ok(client(args)?.call_json(Method::PATCH, &path, body).await?)
}

/// Prints the committed output from `from`; with `follow`, long-polls on.
async fn output(client: &Client, name: &str, mut from: u64, follow: bool) -> anyhow::Result<()> {
    let name = checked(name)?;
    let mut stdout = std::io::stdout().lock();
    loop {
        let wait = if follow { 30_000 } else { 0 };
        let path = format!("/v1/streams/{name}/output?from={from}&wait_ms={wait}");
        let (body, headers) = client.call_raw(Method::GET, &path, Bytes::new()).await?;
        stdout.write_all(&body)?;
        stdout.flush()?;
        let next = headers
            .get(NEXT_OFFSET_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .context("the server's answer has no next offset")?;
        if !follow && next == from {
            return Ok(());
        }
        from = next;
    }
}

fn read_spec(path: &std::path::Path) -> anyhow::Result<Bytes> {
    if path.as_os_str() == "-" {
        let mut spec = Vec::new();
        std::io::stdin()
            .read_to_end(&mut spec)
            .context("cannot read the spec from stdin")?;
        return Ok(spec.into());
    }
    let spec = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(spec.into())
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

fn print_status(status: &Value, json: bool) {
    if json {
        println!("{status}");
        return;
    }
    println!(
        "{}: {} (epoch {}, output {} records, input {} records, lag {}, restarts {})",
        text(&status["name"]),
        text(&status["state"]),
        status["checkpoint"]["epoch"],
        status["checkpoint"]["output_end"],
        status["input"]["end"],
        status["input"]["lag"],
        status["restarts"]
    );
    if let Some(failure) = status.get("failure").filter(|f| !f.is_null()) {
        println!("  failure: {}", text(&failure["message"]));
    }
    for stage in status["stages"].as_array().into_iter().flatten() {
        println!(
            "  stage {} {}{}:",
            stage["index"],
            text(&stage["function"]),
            if stage["keyed"] == true {
                " (keyed)"
            } else {
                ""
            }
        );
        for replica in stage["replicas"].as_array().into_iter().flatten() {
            println!(
                "    #{} {:<10} in {:>9} out {:>9} busy {:>6} ms backpressured {:>6} ms idle {:>7} ms restarts {}{}",
                replica["replica"],
                text(&replica["status"]),
                replica["records_in"],
                replica["records_out"],
                replica["busy_ms"],
                replica["backpressured_ms"],
                replica["idle_ms"],
                replica["restarts"],
                replica
                    .get("thread")
                    .and_then(Value::as_str)
                    .map(|t| format!(" on {t}"))
                    .unwrap_or_default()
            );
        }
    }
}
