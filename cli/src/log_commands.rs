//! `faasrt logs [-f] NAME`: a function's recent logs, and with `-f` every
//! new invocation's log as it ends, through `GET /v1/functions/{name}/logs`.

use crate::LogsArgs;
use crate::client::{ClientError, checked};
use crate::session::{CommandFuture, client};
use serde_json::Value;
use std::io::Write;

/// Runs `faasrt logs`: prints each log line prefixed by its invocation's
/// journal number (`[#N] `), or each entry as a JSON line with `--json`.
pub(crate) fn run(args: LogsArgs, json: bool) -> CommandFuture {
    Box::pin(async move {
        let name = checked(&args.name)?;
        let client = client(&args.client)?;
        let mut query = format!("since={}", args.since);
        if let Some(invocation) = args.invocation {
            query.push_str(&format!("&invocation={invocation}"));
        }
        let print = |entry: &Value| print_entry(entry, json);
        if args.follow {
            let path = format!("/v1/functions/{name}/logs?{query}&follow=1");
            client
                .follow_lines(&path, |line| {
                    let entry: Value = serde_json::from_slice(line)
                        .map_err(|e| ClientError::BadResponse(format!("a feed line: {e}")))?;
                    print(&entry)
                })
                .await?;
        } else {
            let path = format!("/v1/functions/{name}/logs?{query}");
            let answer = client
                .call_json(hyper::Method::GET, &path, bytes::Bytes::new())
                .await?;
            for entry in answer["logs"].as_array().into_iter().flatten() {
                print(entry)?;
            }
        }
        Ok(0)
    })
}

fn print_entry(entry: &Value, json: bool) -> Result<(), ClientError> {
    let mut stdout = std::io::stdout().lock();
    let written = if let Some(lost) = entry.get("lost") {
        // Said on stderr: the output stays only the function's lines.
        eprintln!("faasrt: {lost} log entries were dropped: this reader fell behind");
        Ok(())
    } else if json {
        writeln!(stdout, "{entry}")
    } else {
        let invocation = &entry["invocation"];
        let log = entry["log"].as_str().unwrap_or("");
        log.lines()
            .try_for_each(|line| writeln!(stdout, "[#{invocation}] {line}"))
    };
    written
        .and_then(|()| stdout.flush())
        .map_err(|e| ClientError::InvalidArgument(format!("cannot write the logs: {e}")))
}
