//! `faasrt kv ...`: a function's key-value state through the server's
//! `/v1/functions/{name}/kv` API.

use crate::KvCommand;
use crate::client::{Client, checked};
use crate::session::{CommandFuture, client};
use anyhow::Context;
use bytes::Bytes;
use hyper::Method;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use std::io::{Read, Write};

/// Keys asked for per page of `faasrt kv ls`.
const PAGE: usize = 1000;

/// Runs one `faasrt kv` subcommand.
pub(crate) fn run(command: KvCommand, json: bool) -> CommandFuture {
    Box::pin(async move {
        match command {
            KvCommand::Ls {
                function,
                prefix,
                limit,
                client: args,
            } => list(&client(&args)?, &function, &prefix, limit, json).await?,
            KvCommand::Get(args) => {
                let path = key_path(&args.function, &args.key)?;
                let (value, _) = client(&args.client)?
                    .call_raw(Method::GET, &path, Bytes::new())
                    .await?;
                std::io::stdout().write_all(&value)?;
            }
            KvCommand::Put {
                function,
                key,
                value,
                client: args,
            } => {
                let value = match value {
                    Some(value) => Bytes::from(value),
                    None => {
                        let mut stdin = Vec::new();
                        std::io::stdin()
                            .read_to_end(&mut stdin)
                            .context("cannot read the value from stdin")?;
                        Bytes::from(stdin)
                    }
                };
                let path = key_path(&function, &key)?;
                let done = client(&args)?.call_json(Method::PUT, &path, value).await?;
                print_usage(&done, json);
            }
            KvCommand::Rm(args) => {
                let path = key_path(&args.function, &args.key)?;
                let done = client(&args.client)?
                    .call_json(Method::DELETE, &path, Bytes::new())
                    .await?;
                print_usage(&done, json);
            }
        }
        Ok(0)
    })
}

/// The path of `key` of `function`: the name is checked, the key
/// percent-encoded whole (a `/` in it stays in one segment).
fn key_path(function: &str, key: &str) -> anyhow::Result<String> {
    anyhow::ensure!(!key.is_empty(), "a key cannot be empty");
    Ok(format!(
        "/v1/functions/{}/kv/{}",
        checked(function)?,
        utf8_percent_encode(key, NON_ALPHANUMERIC)
    ))
}

/// Prints the keys of `function`, page by page, up to `limit`.
async fn list(
    client: &Client,
    function: &str,
    prefix: &str,
    limit: Option<usize>,
    json: bool,
) -> anyhow::Result<()> {
    let mut after: Option<String> = None;
    let mut keys = Vec::new();
    let mut last;
    loop {
        let wanted = limit.map_or(PAGE, |limit| (limit - keys.len()).min(PAGE));
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("prefix", prefix)
            .append_pair("limit", &wanted.to_string());
        if let Some(after) = &after {
            query.append_pair("after_hex", after);
        }
        let path = format!("/v1/functions/{}/kv?{}", checked(function)?, query.finish());
        last = client.call_json(Method::GET, &path, Bytes::new()).await?;
        let page = last["keys"].as_array().cloned().unwrap_or_default();
        after = page
            .last()
            .and_then(|entry| entry["key_hex"].as_str())
            .map(str::to_owned);
        keys.extend(page);
        let full = limit.is_some_and(|limit| keys.len() >= limit);
        if last["more"] != Value::Bool(true) || full || after.is_none() {
            break;
        }
    }
    if json {
        last["keys"] = Value::Array(keys);
        println!("{last}");
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    for entry in &keys {
        writeln!(
            out,
            "{}\t{}",
            entry["key"].as_str().unwrap_or_default(),
            entry["value_bytes"]
        )?;
    }
    writeln!(
        out,
        "{} keys, {} bytes (quota {} keys, {} bytes)",
        last["usage"]["keys"],
        last["usage"]["bytes"],
        last["quota"]["max_keys"],
        last["quota"]["max_bytes"]
    )?;
    Ok(())
}

fn print_usage(done: &Value, json: bool) {
    if json {
        println!("{done}");
    } else {
        println!(
            "ok: {} keys, {} bytes",
            done["usage"]["keys"], done["usage"]["bytes"]
        );
    }
}
